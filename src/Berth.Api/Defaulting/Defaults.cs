using Berth.Api.Models;

namespace Berth.Api.Defaulting;

/// <summary>
/// The defaults the upstream API server fills in when an object is written (pkg/apis/core/v1/defaults.go,
/// pkg/apis/apps/v1/defaults.go), so that what a client reads back is what a real cluster would show.
/// Idempotent: applying them twice changes nothing. Service IP families are not defaulted here: they depend on the
/// cluster's configured families and are filled in when the Service is stored (<see cref="Validation.ServiceIPFamilies"/>).
/// Endpoints and EndpointSlice ports get their protocol (and a slice port its name "") as upstream: they sit in lists
/// kubectl replaces whole, so re-applying a manifest that omits them reports "configured" (as against any
/// apiserver) while changing nothing; without them, `kubectl describe svc` dereferences a nil slice port name.
/// </summary>
public static class Defaults
{
    public const string DefaultSchedulerName = "default-scheduler";

    // 0644, the mode upstream gives projected files when none is asked for.
    private const int DefaultFileMode = 420;

    // v1.DefaultClientIPServiceAffinitySeconds: three hours.
    private const int DefaultClientIPAffinitySeconds = 10800;

    public static void Apply(object obj)
    {
        switch (obj)
        {
            case Pod pod:
                Apply(pod.Spec);
                break;
            case Deployment deployment:
                Apply(deployment.Spec);
                break;
            case ReplicaSet replicaSet when replicaSet.Spec is { } spec:
                spec.Replicas ??= 1;
                Apply(spec.Template?.Spec);
                break;
            case PersistentVolumeClaim { Spec: { } claim }:
                claim.VolumeMode ??= "Filesystem";
                break;
            case Service service:
                Apply(service);
                break;
            case Endpoints endpoints:
                // SetDefaults_EndpointPort (core/v1).
                foreach (var port in endpoints.Subsets?.SelectMany(s => s.Ports ?? []) ?? [])
                {
                    port.Protocol = string.IsNullOrEmpty(port.Protocol) ? "TCP" : port.Protocol;
                }
                break;
            case EndpointSlice slice:
                // SetDefaults_EndpointPort (discovery/v1): the name and protocol are pointers defaulted when nil.
                foreach (var port in slice.Ports ?? [])
                {
                    port.Name ??= "";
                    port.Protocol ??= "TCP";
                }
                break;
        }
    }

    // SetDefaults_Service (pkg/apis/core/v1/defaults.go). Upstream's spec is a value, never absent, so neither is ours.
    private static void Apply(Service service)
    {
        var spec = service.Spec ??= new ServiceSpec();
        spec.SessionAffinity = string.IsNullOrEmpty(spec.SessionAffinity) ? "None" : spec.SessionAffinity;
        if (spec.SessionAffinity == "None")
        {
            spec.SessionAffinityConfig = null;
        }
        if (spec.SessionAffinity == "ClientIP" && spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds is null)
        {
            spec.SessionAffinityConfig = new SessionAffinityConfig { ClientIP = new ClientIPConfig { TimeoutSeconds = DefaultClientIPAffinitySeconds } };
        }
        spec.Type = string.IsNullOrEmpty(spec.Type) ? "ClusterIP" : spec.Type;
        foreach (var port in spec.Ports ?? [])
        {
            port.Protocol = string.IsNullOrEmpty(port.Protocol) ? "TCP" : port.Protocol;
            // Unset, 0 and "" all mean "the same as port".
            if (port.TargetPort is not { } target || target == IntOrString.FromInt32(0) || target == IntOrString.FromString(""))
            {
                port.TargetPort = IntOrString.FromInt32(port.Port ?? 0);
            }
        }
        var externallyAccessible = spec.Type is "NodePort" or "LoadBalancer" || (spec.Type == "ClusterIP" && spec.ExternalIPs is { Count: > 0 });
        if (externallyAccessible && string.IsNullOrEmpty(spec.ExternalTrafficPolicy))
        {
            spec.ExternalTrafficPolicy = "Cluster";
        }
        if (spec.Type is "ClusterIP" or "NodePort" or "LoadBalancer")
        {
            spec.InternalTrafficPolicy ??= "Cluster";
        }
        if (spec.Type == "LoadBalancer")
        {
            spec.AllocateLoadBalancerNodePorts ??= true;
            foreach (var ingress in service.Status?.LoadBalancer?.Ingress ?? [])
            {
                if (!string.IsNullOrEmpty(ingress.Ip))
                {
                    ingress.IpMode ??= "VIP";
                }
            }
        }
    }

    private static void Apply(DeploymentSpec? spec)
    {
        if (spec is null)
        {
            return;
        }
        spec.Replicas ??= 1;
        spec.Strategy ??= new DeploymentStrategy();
        spec.Strategy.Type ??= "RollingUpdate";
        if (spec.Strategy.Type == "RollingUpdate")
        {
            spec.Strategy.RollingUpdate ??= new RollingUpdateDeployment();
            spec.Strategy.RollingUpdate.MaxUnavailable ??= IntOrString.FromString("25%");
            spec.Strategy.RollingUpdate.MaxSurge ??= IntOrString.FromString("25%");
        }
        spec.RevisionHistoryLimit ??= 10;
        spec.ProgressDeadlineSeconds ??= 600;
        Apply(spec.Template?.Spec);
    }

    public static void Apply(PodSpec? spec)
    {
        if (spec is null)
        {
            return;
        }
        spec.DnsPolicy ??= "ClusterFirst";
        spec.RestartPolicy ??= "Always";
        spec.TerminationGracePeriodSeconds ??= 30;
        spec.SchedulerName ??= DefaultSchedulerName;
        spec.SecurityContext ??= new PodSecurityContext();
        spec.EnableServiceLinks ??= true;
        foreach (var container in (spec.InitContainers ?? []).Concat(spec.Containers ?? []))
        {
            Apply(container);
        }
        foreach (var volume in spec.Volumes ?? [])
        {
            if (volume.ConfigMap is { } configMap)
            {
                configMap.DefaultMode ??= DefaultFileMode;
            }
            if (volume.Secret is { } secret)
            {
                secret.DefaultMode ??= DefaultFileMode;
            }
            if (volume.DownwardAPI is { } downward)
            {
                downward.DefaultMode ??= DefaultFileMode;
            }
            if (volume.Projected is { } projected)
            {
                projected.DefaultMode ??= DefaultFileMode;
            }
        }
    }

    private static void Apply(Container container)
    {
        container.TerminationMessagePath ??= "/dev/termination-log";
        container.TerminationMessagePolicy ??= "File";
        container.ImagePullPolicy ??= PullPolicyFor(container.Image);
        foreach (var port in container.Ports ?? [])
        {
            port.Protocol ??= "TCP";
        }
        foreach (var env in container.Env ?? [])
        {
            if (env.ValueFrom?.FieldRef is { } field)
            {
                field.ApiVersion ??= "v1";
            }
        }
        foreach (var probe in new[] { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe })
        {
            if (probe is null)
            {
                continue;
            }
            probe.TimeoutSeconds ??= 1;
            probe.PeriodSeconds ??= 10;
            probe.SuccessThreshold ??= 1;
            probe.FailureThreshold ??= 3;
            if (probe.HttpGet is { } get)
            {
                get.Scheme ??= "HTTP";
            }
        }
    }

    /// <summary>Always for ":latest" or an untagged image, IfNotPresent otherwise (and for digests), as upstream.</summary>
    public static string PullPolicyFor(string? image)
    {
        if (string.IsNullOrEmpty(image) || image.Contains('@', StringComparison.Ordinal))
        {
            return "IfNotPresent";
        }
        var lastSegment = image[(image.LastIndexOf('/') + 1)..];
        var colon = lastSegment.LastIndexOf(':');
        var tag = colon < 0 ? "latest" : lastSegment[(colon + 1)..];
        return tag == "latest" ? "Always" : "IfNotPresent";
    }
}
