using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Client;
using Berth.Controllers.Deployments;

namespace Berth.Controllers.Tests.Deployments;

/// <summary>The object builders of upstream's deployment_controller_test.go and deployment_util_test.go.</summary>
internal static class DeploymentFixtures
{
    private static int s_uid;

    /// <summary>newDeployment: RollingUpdate with maxSurge and maxUnavailable 0 unless given, one foo/bar container.</summary>
    public static Deployment NewDeployment(string name, int replicas, int? revisionHistoryLimit = null,
        IntOrString? maxSurge = null, IntOrString? maxUnavailable = null, Dictionary<string, string>? selector = null) => new()
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new ObjectMeta { Uid = NewUid(), Name = name, Namespace = "default", Annotations = [] },
            Spec = new DeploymentSpec
            {
                Strategy = new DeploymentStrategy
                {
                    Type = DeploymentUtil.RollingUpdateStrategy,
                    RollingUpdate = new RollingUpdateDeployment
                    {
                        MaxSurge = maxSurge ?? IntOrString.FromInt32(0),
                        MaxUnavailable = maxUnavailable ?? IntOrString.FromInt32(0),
                    },
                },
                Replicas = replicas,
                Selector = new LabelSelector { MatchLabels = selector is null ? null : new(selector) },
                Template = new PodTemplateSpec
                {
                    Metadata = new ObjectMeta { Labels = selector is null ? null : new(selector) },
                    Spec = new PodSpec { Containers = [new Container { Image = "foo/bar" }] },
                },
                RevisionHistoryLimit = revisionHistoryLimit,
            },
            Status = new DeploymentStatus(),
        };

    /// <summary>rs: a ReplicaSet in default with an empty template.</summary>
    public static ReplicaSet Rs(string name, int replicas, Dictionary<string, string>? selector = null, DateTimeOffset? timestamp = null) => new()
    {
        Metadata = new ObjectMeta { Name = name, Uid = NewUid(), CreationTimestamp = timestamp, Namespace = "default" },
        Spec = new ReplicaSetSpec
        {
            Replicas = replicas,
            Selector = new LabelSelector { MatchLabels = selector is null ? null : new(selector) },
            Template = new PodTemplateSpec(),
        },
        Status = new ReplicaSetStatus(),
    };

    public static ReplicaSet NewRSWithStatus(string name, int specReplicas, int statusReplicas, Dictionary<string, string>? selector = null)
    {
        var rs = Rs(name, specReplicas, selector);
        rs.Status = new ReplicaSetStatus { Replicas = statusReplicas };
        return rs;
    }

    /// <summary>generateDeployment: one replica, the image as name, container and label, defaulted pod spec.</summary>
    public static Deployment GenerateDeployment(string image) => new()
    {
        Metadata = new ObjectMeta { Name = image, Annotations = [] },
        Spec = new DeploymentSpec
        {
            Replicas = 1,
            Selector = new LabelSelector { MatchLabels = new() { ["name"] = image } },
            Template = new PodTemplateSpec
            {
                Metadata = new ObjectMeta { Labels = new() { ["name"] = image } },
                Spec = new PodSpec
                {
                    Containers = [new Container { Name = image, Image = image, ImagePullPolicy = "Always", TerminationMessagePath = "/dev/termination-log" }],
                    DnsPolicy = "ClusterFirst",
                    TerminationGracePeriodSeconds = 30,
                    RestartPolicy = "Always",
                    SecurityContext = new PodSecurityContext(),
                    EnableServiceLinks = true,
                },
            },
        },
        Status = new DeploymentStatus(),
    };

    /// <summary>generateRS: a ReplicaSet with the Deployment's template, 0 replicas, controlled by it.</summary>
    public static ReplicaSet GenerateRS(Deployment d)
    {
        var template = KubeJson.DeepClone(d.Spec!.Template!);
        return new ReplicaSet
        {
            Metadata = new ObjectMeta
            {
                Uid = NewUid(),
                Name = d.Metadata!.Name + "-" + NewUid(),
                Labels = template.Metadata?.Labels,
                OwnerReferences = [new OwnerReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = d.Metadata.Name, Uid = d.Metadata.Uid, Controller = true }],
            },
            Spec = new ReplicaSetSpec
            {
                Replicas = 0,
                Template = template,
                Selector = new LabelSelector { MatchLabels = template.Metadata?.Labels },
            },
            Status = new ReplicaSetStatus(),
        };
    }

    public static string NewUid() => "uid-" + Interlocked.Increment(ref s_uid);
}

/// <summary>Records what a sync does, as upstream's fake clientset records actions; writes answer with what was sent.</summary>
internal sealed class FakeDeploymentControl : IDeploymentControl
{
    public List<(string Verb, object Object)> Actions { get; } = [];

    public List<string> Events { get; } = [];

    public List<TimeSpan> EnqueuedAfter { get; } = [];

    public int EnqueuedRateLimited { get; private set; }

    public Dictionary<string, ReplicaSet> Cache { get; } = new(StringComparer.Ordinal);

    /// <summary>Makes ReplicaSet creates fail with this error.</summary>
    public KubeApiException? CreateError { get; set; }

    public IEnumerable<ReplicaSet> Updates => Actions.Where(a => a.Verb == "update").Select(a => (ReplicaSet)a.Object);

    public IEnumerable<string> Deletes => Actions.Where(a => a.Verb == "delete").Select(a => (string)a.Object);

    public Task<ReplicaSet> CreateReplicaSetAsync(ReplicaSet rs, CancellationToken ct)
    {
        Actions.Add(("create", rs));
        if (CreateError is { } error)
        {
            throw error;
        }
        return Task.FromResult(rs);
    }

    public Task<ReplicaSet> UpdateReplicaSetAsync(ReplicaSet rs, CancellationToken ct)
    {
        Actions.Add(("update", rs));
        return Task.FromResult(rs);
    }

    public Task DeleteReplicaSetAsync(string ns, string name, CancellationToken ct)
    {
        Actions.Add(("delete", name));
        return Task.CompletedTask;
    }

    public Task UpdateStatusAsync(Deployment d, CancellationToken ct)
    {
        Actions.Add(("status", KubeJson.DeepClone(d)));
        return Task.CompletedTask;
    }

    public ReplicaSet? GetCachedReplicaSet(string ns, string name) => Cache.GetValueOrDefault(name);

    public void RecordEvent(Deployment d, string type, string reason, string message) => Events.Add($"{type} {reason} {message}");

    public void EnqueueAfter(Deployment d, TimeSpan delay) => EnqueuedAfter.Add(delay);

    public void EnqueueRateLimited(Deployment d) => EnqueuedRateLimited++;
}
