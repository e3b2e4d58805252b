using Berth.Api.Models;
using Berth.Controllers.Deployments;
using static Berth.Controllers.Tests.Deployments.DeploymentFixtures;

namespace Berth.Controllers.Tests.Deployments;

/// <summary>Upstream pkg/controller/deployment/util/deployment_util_test.go (v1.32 tables).</summary>
public sealed class DeploymentUtilTests
{
    private const string Hash = DeploymentUtil.UniqueLabelKey;

    private static PodTemplateSpec Template(string name, string nodeName, Dictionary<string, string> annotations, Dictionary<string, string> labels) => new()
    {
        Metadata = new ObjectMeta { Name = name, Annotations = annotations, Labels = labels },
        Spec = new PodSpec { NodeName = nodeName },
    };

    public static TheoryData<string, PodTemplateSpec, PodTemplateSpec, bool> EqualIgnoreHashCases => new()
    {
        { "Same spec, same labels", Template("foo", "foo-node", [], new() { [Hash] = "value-1", ["something"] = "else" }), Template("foo", "foo-node", [], new() { [Hash] = "value-1", ["something"] = "else" }), true },
        { "Same spec, only pod-template-hash label value is different", Template("foo", "foo-node", [], new() { [Hash] = "value-1", ["something"] = "else" }), Template("foo", "foo-node", [], new() { [Hash] = "value-2", ["something"] = "else" }), true },
        { "Same spec, the former doesn't have pod-template-hash label", Template("foo", "foo-node", [], new() { ["something"] = "else" }), Template("foo", "foo-node", [], new() { [Hash] = "value-2", ["something"] = "else" }), true },
        { "Same spec, the label is different, the former doesn't have pod-template-hash label, same number of labels", Template("foo", "foo-node", [], new() { ["something"] = "else" }), Template("foo", "foo-node", [], new() { [Hash] = "value-2" }), false },
        { "Same spec, the label is different, the latter doesn't have pod-template-hash label, same number of labels", Template("foo", "foo-node", [], new() { [Hash] = "value-1" }), Template("foo", "foo-node", [], new() { ["something"] = "else" }), false },
        { "Same spec, the label is different, and the pod-template-hash label value is the same", Template("foo", "foo-node", [], new() { [Hash] = "value-1" }), Template("foo", "foo-node", [], new() { [Hash] = "value-1", ["something"] = "else" }), false },
        { "Different spec, same labels", Template("foo", "foo-node", new() { ["former"] = "value" }, new() { [Hash] = "value-1", ["something"] = "else" }), Template("foo", "foo-node", new() { ["latter"] = "value" }, new() { [Hash] = "value-1", ["something"] = "else" }), false },
        { "Different spec, different pod-template-hash label value", Template("foo-1", "foo-node", [], new() { [Hash] = "value-1", ["something"] = "else" }), Template("foo-2", "foo-node", [], new() { [Hash] = "value-2", ["something"] = "else" }), false },
        { "Different spec, the former doesn't have pod-template-hash label", Template("foo-1", "foo-node-1", [], new() { ["something"] = "else" }), Template("foo-2", "foo-node-2", [], new() { [Hash] = "value-2", ["something"] = "else" }), false },
        { "Different spec, different labels", Template("foo", "foo-node-1", [], new() { ["something"] = "else" }), Template("foo", "foo-node-2", [], new() { ["nothing"] = "else" }), false },
    };

    [Theory]
    [MemberData(nameof(EqualIgnoreHashCases))]
    public void EqualIgnoreHash_BothOrders_MatchesUpstream(string name, PodTemplateSpec former, PodTemplateSpec latter, bool expected)
    {
        var formerLabels = new Dictionary<string, string>(former.Metadata!.Labels!);
        Assert.True(expected == DeploymentUtil.EqualIgnoreHash(former, latter), name);
        Assert.True(expected == DeploymentUtil.EqualIgnoreHash(latter, former), name + " (reverse order)");
        Assert.Equal(formerLabels, former.Metadata.Labels);
    }

    [Fact]
    public void FindNewReplicaSet_UpstreamCases()
    {
        var now = new DateTimeOffset(2016, 5, 20, 1, 0, 0, TimeSpan.Zero);
        var later = now.AddMinutes(1);
        var deployment = GenerateDeployment("nginx");
        var newRS = GenerateRS(deployment);
        newRS.Metadata!.Labels![Hash] = "hash";
        newRS.Metadata.CreationTimestamp = later;
        var newRSDup = GenerateRS(deployment);
        newRSDup.Metadata!.Labels![Hash] = "different-hash";
        newRSDup.Metadata.CreationTimestamp = now;
        var oldDeployment = GenerateDeployment("nginx");
        oldDeployment.Spec!.Template!.Spec!.Containers![0].Name = "nginx-old-1";
        var oldRS = GenerateRS(oldDeployment);

        // Get new ReplicaSet with the same template as Deployment spec but different pod-template-hash value.
        Assert.Same(newRS, DeploymentUtil.FindNewReplicaSet(deployment, [newRS, oldRS]));
        // Get the oldest new ReplicaSet when there are more than one ReplicaSet with the same template.
        Assert.Same(newRSDup, DeploymentUtil.FindNewReplicaSet(deployment, [newRS, oldRS, newRSDup]));
        // Get nil new ReplicaSet.
        Assert.Null(DeploymentUtil.FindNewReplicaSet(deployment, [oldRS]));
    }

    [Fact]
    public void FindOldReplicaSets_UpstreamCases()
    {
        var now = new DateTimeOffset(2016, 5, 20, 1, 0, 0, TimeSpan.Zero);
        var deployment = GenerateDeployment("nginx");
        var newRS = GenerateRS(deployment);
        newRS.Spec!.Replicas = 1;
        newRS.Metadata!.Labels![Hash] = "hash";
        newRS.Metadata.CreationTimestamp = now.AddMinutes(1);
        var newRSDup = GenerateRS(deployment);
        newRSDup.Metadata!.Labels![Hash] = "different-hash";
        newRSDup.Metadata.CreationTimestamp = now;
        var oldDeployment = GenerateDeployment("nginx");
        oldDeployment.Spec!.Template!.Spec!.Containers![0].Name = "nginx-old-1";
        var oldRS = GenerateRS(oldDeployment);
        oldRS.Metadata!.CreationTimestamp = now.AddMinutes(-1);

        var cases = new (string Name, List<ReplicaSet> List, ReplicaSet[] Expected, ReplicaSet[] ExpectedRequired)[]
        {
            ("Get old ReplicaSets", [newRS, oldRS], [oldRS], []),
            ("Get old ReplicaSets with no new ReplicaSet", [oldRS], [oldRS], []),
            ("Get old ReplicaSets with two new ReplicaSets, only the oldest new ReplicaSet is seen as new ReplicaSet", [oldRS, newRS, newRSDup], [oldRS, newRS], [newRS]),
            ("Get empty old ReplicaSets", [newRS], [], []),
        };
        foreach (var (name, list, expected, expectedRequired) in cases)
        {
            var (required, all) = DeploymentUtil.FindOldReplicaSets(deployment, list);
            all.Sort(DeploymentUtil.ByCreationTimestamp);
            Assert.True(expected.SequenceEqual(all), name);
            Assert.True(expectedRequired.SequenceEqual(required), name);
        }
    }

    [Fact]
    public void GetReplicaCountForReplicaSets_SumsSpecAndStatus()
    {
        var rs1 = GenerateRS(GenerateDeployment("foo-rs"));
        rs1.Spec!.Replicas = 1;
        rs1.Status!.Replicas = 2;
        var rs2 = GenerateRS(GenerateDeployment("bar-rs"));
        rs2.Spec!.Replicas = 2;
        rs2.Status!.Replicas = 3;
        var rs3 = GenerateRS(GenerateDeployment("unsynced-rs"));
        rs3.Spec!.Replicas = 3;
        rs3.Status!.Replicas = 0;

        var cases = new (string Name, ReplicaSet[] Sets, int Count, int Actual)[]
        {
            ("scaling down rs1", [rs1], 1, 2),
            ("scaling down rs1 and rs2", [rs1, rs2], 3, 5),
            ("scaling up rs3", [rs3], 3, 0),
            ("scaling down rs1 and rs2 and scaling up rs3", [rs1, rs2, rs3], 6, 5),
        };
        foreach (var (name, sets, count, actual) in cases)
        {
            Assert.True(count == DeploymentUtil.GetReplicaCountForReplicaSets(sets), name);
            Assert.True(actual == DeploymentUtil.GetActualReplicaCountForReplicaSets(sets), name);
        }
    }

    public static TheoryData<string?, string?, int, int, int, bool> FencepostCases => new()
    {
        { "0%", "0%", 0, 0, 1, false },
        { "39%", "39%", 10, 4, 3, false },
        { "oops", "39%", 10, 0, 0, true },
        { "55%", "urg", 10, 0, 0, true },
        { null, "39%", 10, 0, 3, false },
        { "39%", null, 10, 4, 0, false },
        { null, null, 10, 0, 1, false },
    };

    [Theory]
    [MemberData(nameof(FencepostCases))]
    public void ResolveFenceposts_PercentagesRoundSurgeUpUnavailableDown(string? maxSurge, string? maxUnavailable, int desired, int expectSurge, int expectUnavailable, bool expectError)
    {
        var (surge, unavailable, error) = DeploymentUtil.ResolveFenceposts(
            maxSurge is null ? (IntOrString?)null : IntOrString.FromString(maxSurge), maxUnavailable is null ? (IntOrString?)null : IntOrString.FromString(maxUnavailable), desired);
        Assert.Equal(expectError, error is not null);
        Assert.Equal((expectSurge, expectUnavailable), (surge, unavailable));
    }

    [Fact]
    public void ResolveFenceposts_BadValues_UpstreamErrorText()
    {
        Assert.Equal("invalid value for IntOrString: invalid type: string is not a percentage",
            DeploymentUtil.ResolveFenceposts(IntOrString.FromString("oops"), null, 10).Error);
        Assert.Equal("invalid value for IntOrString: invalid value \"x%\": strconv.Atoi: parsing \"x\": invalid syntax",
            DeploymentUtil.ResolveFenceposts(null, IntOrString.FromString("x%"), 10).Error);
    }

    [Theory]
    [InlineData("can not scale up - to newRSReplicas", DeploymentUtil.RollingUpdateStrategy, 1, 5, 1, 5)]
    [InlineData("scale up - to depReplicas", DeploymentUtil.RollingUpdateStrategy, 6, 2, 10, 6)]
    [InlineData("recreate - to depReplicas", DeploymentUtil.RecreateStrategy, 3, 1, 1, 3)]
    public void NewRSNewReplicas_UpstreamCases(string name, string strategy, int depReplicas, int newRSReplicas, int maxSurge, int expected)
    {
        var d = GenerateDeployment("nginx");
        d.Spec!.Replicas = depReplicas;
        d.Spec.Strategy = new DeploymentStrategy
        {
            Type = strategy,
            RollingUpdate = new RollingUpdateDeployment { MaxUnavailable = IntOrString.FromInt32(1), MaxSurge = IntOrString.FromInt32(maxSurge) },
        };
        var newRC = GenerateRS(d);
        newRC.Spec!.Replicas = newRSReplicas;
        var rs5 = GenerateRS(d);
        rs5.Spec!.Replicas = 5;
        Assert.True(expected == DeploymentUtil.NewRSNewReplicas(d, [rs5], newRC), name);
    }

    private static DeploymentCondition CondProgressing() => new() { Type = "Progressing", Status = "False", Reason = "ForSomeReason" };

    private static DeploymentCondition CondProgressing2() => new() { Type = "Progressing", Status = "True", Reason = "BecauseItIs" };

    private static DeploymentCondition CondAvailable() => new() { Type = "Available", Status = "True", Reason = "AwesomeController" };

    private static string Conditions(DeploymentStatus status) =>
        string.Join(";", (status.Conditions ?? []).Select(c => $"{c.Type}/{c.Status}/{c.Reason}"));

    [Fact]
    public void Conditions_GetSetRemove_UpstreamCases()
    {
        var example = new DeploymentStatus { Conditions = [CondProgressing(), CondAvailable()] };
        Assert.NotNull(DeploymentUtil.GetCondition(example, "Available"));
        Assert.Null(DeploymentUtil.GetCondition(example, "ReplicaFailure"));

        // set for the first time / simple set / overwrite
        var first = new DeploymentStatus();
        DeploymentUtil.SetCondition(first, CondAvailable());
        Assert.Equal("Available/True/AwesomeController", Conditions(first));
        var simple = new DeploymentStatus { Conditions = [CondProgressing()] };
        DeploymentUtil.SetCondition(simple, CondAvailable());
        Assert.Equal("Progressing/False/ForSomeReason;Available/True/AwesomeController", Conditions(simple));
        var overwrite = new DeploymentStatus { Conditions = [CondProgressing()] };
        DeploymentUtil.SetCondition(overwrite, CondProgressing2());
        Assert.Equal("Progressing/True/BecauseItIs", Conditions(overwrite));

        // remove from empty status / simple remove / doesn't remove anything
        var empty = new DeploymentStatus();
        DeploymentUtil.RemoveCondition(empty, "Progressing");
        Assert.Null(empty.Conditions);
        var remove = new DeploymentStatus { Conditions = [CondProgressing()] };
        DeploymentUtil.RemoveCondition(remove, "Progressing");
        Assert.Null(remove.Conditions);
        var keep = new DeploymentStatus { Conditions = [CondProgressing(), CondAvailable()] };
        DeploymentUtil.RemoveCondition(keep, "ReplicaFailure");
        Assert.Equal("Progressing/False/ForSomeReason;Available/True/AwesomeController", Conditions(keep));
    }

    [Fact]
    public void SetCondition_SameStatusNewReason_KeepsLastTransitionTime()
    {
        var before = new DateTimeOffset(2017, 2, 15, 18, 49, 0, TimeSpan.Zero);
        var status = new DeploymentStatus { Conditions = [DeploymentUtil.NewCondition("Progressing", "True", "ReplicaSetUpdated", "m", before)] };
        DeploymentUtil.SetCondition(status, DeploymentUtil.NewCondition("Progressing", "True", "NewReplicaSetAvailable", "m", before.AddMinutes(5)));
        var condition = Assert.Single(status.Conditions!);
        Assert.Equal(before, condition.LastTransitionTime);
        Assert.Equal(before.AddMinutes(5), condition.LastUpdateTime);
    }

    private static Deployment CompleteCase(int desired, int current, int updated, int available, int maxUnavailable, int maxSurge) => new()
    {
        Spec = new DeploymentSpec
        {
            Replicas = desired,
            Strategy = new DeploymentStrategy
            {
                Type = DeploymentUtil.RollingUpdateStrategy,
                RollingUpdate = new RollingUpdateDeployment { MaxUnavailable = IntOrString.FromInt32(maxUnavailable), MaxSurge = IntOrString.FromInt32(maxSurge) },
            },
        },
        Status = new DeploymentStatus { Replicas = current, UpdatedReplicas = updated, AvailableReplicas = available },
    };

    [Theory]
    [InlineData("not complete: min but not all pods become available", 5, 5, 5, 4, 1, 0, false)]
    [InlineData("not complete: min availability is not honored", 5, 5, 5, 3, 1, 0, false)]
    [InlineData("complete", 5, 5, 5, 5, 0, 0, true)]
    [InlineData("not complete: all pods are available but not updated", 5, 5, 4, 5, 0, 0, false)]
    [InlineData("not complete: still running old pods", 1, 2, 1, 1, 0, 1, false)]
    [InlineData("not complete: one replica deployment never comes up", 1, 1, 1, 0, 1, 1, false)]
    public void DeploymentComplete_UpstreamCases(string name, int desired, int current, int updated, int available, int maxUnavailable, int maxSurge, bool expected)
    {
        var d = CompleteCase(desired, current, updated, available, maxUnavailable, maxSurge);
        Assert.True(expected == DeploymentUtil.DeploymentComplete(d, d.Status), name);
    }

    [Theory]
    [InlineData("progressing: updated pods", 10, 4, 4, 4, 10, 6, 4, 4, true)]
    [InlineData("not progressing", 10, 4, 4, 4, 10, 4, 4, 4, false)]
    [InlineData("progressing: old pods removed", 10, 4, 6, 6, 8, 4, 6, 6, true)]
    [InlineData("not progressing: less new pods", 10, 7, 3, 3, 10, 6, 3, 3, false)]
    [InlineData("progressing: less overall but more new pods", 10, 4, 7, 7, 8, 8, 5, 5, true)]
    [InlineData("progressing: more ready pods", 10, 10, 9, 8, 10, 10, 10, 8, true)]
    [InlineData("progressing: more available pods", 10, 10, 10, 9, 10, 10, 10, 10, true)]
    public void DeploymentProgressing_UpstreamCases(string name, int current, int updated, int ready, int available,
        int newCurrent, int newUpdated, int newReady, int newAvailable, bool expected)
    {
        var d = new Deployment
        {
            Status = new DeploymentStatus { Replicas = current, UpdatedReplicas = updated, ReadyReplicas = ready, AvailableReplicas = available },
        };
        var newStatus = new DeploymentStatus { Replicas = newCurrent, UpdatedReplicas = newUpdated, ReadyReplicas = newReady, AvailableReplicas = newAvailable };
        Assert.True(expected == DeploymentUtil.DeploymentProgressing(d, newStatus), name);
    }

    public static TheoryData<string, int?, string, DateTimeOffset, DateTimeOffset, bool> TimedOutCases
    {
        get
        {
            static DateTimeOffset At(int min, int sec) => new(2016, 1, 1, 0, min, sec, TimeSpan.Zero);
            return new()
            {
                { "nil progressDeadlineSeconds specified - no timeout", null, "", At(1, 9), At(1, 20), false },
                { "infinite progressDeadlineSeconds specified - no timeout", int.MaxValue, "", At(1, 9), At(1, 20), false },
                { "progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:09 => 11s", 10, "", At(1, 9), At(1, 20), true },
                { "progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:11 => 9s", 10, "", At(1, 11), At(1, 20), false },
                { "previous status was a complete deployment", null, DeploymentUtil.NewRSAvailableReason, DateTimeOffset.MinValue, At(1, 20), false },
            };
        }
    }

    [Theory]
    [MemberData(nameof(TimedOutCases))]
    public void DeploymentTimedOut_UpstreamCases(string name, int? pds, string reason, DateTimeOffset from, DateTimeOffset now, bool expected)
    {
        var d = new Deployment
        {
            Spec = new DeploymentSpec { ProgressDeadlineSeconds = pds },
            Status = new DeploymentStatus { Conditions = [new DeploymentCondition { Type = "Progressing", Status = "True", Reason = reason, LastUpdateTime = from }] },
        };
        Assert.True(expected == DeploymentUtil.DeploymentTimedOut(d, d.Status, now), name);
    }

    private static Deployment WithMaxUnavailable(int replicas, IntOrString maxUnavailable) => new()
    {
        Spec = new DeploymentSpec
        {
            Replicas = replicas,
            Strategy = new DeploymentStrategy
            {
                Type = DeploymentUtil.RollingUpdateStrategy,
                RollingUpdate = new RollingUpdateDeployment { MaxSurge = IntOrString.FromInt32(1), MaxUnavailable = maxUnavailable },
            },
        },
    };

    public static TheoryData<string, Deployment, int> MaxUnavailableCases => new()
    {
        { "maxUnavailable less than replicas", WithMaxUnavailable(10, 5), 5 },
        { "maxUnavailable equal replicas", WithMaxUnavailable(10, 10), 10 },
        { "maxUnavailable greater than replicas", WithMaxUnavailable(5, 10), 5 },
        { "maxUnavailable with replicas is 0", WithMaxUnavailable(0, 10), 0 },
        { "maxUnavailable with Recreate deployment strategy", new Deployment { Spec = new DeploymentSpec { Strategy = new DeploymentStrategy { Type = DeploymentUtil.RecreateStrategy } } }, 0 },
        { "maxUnavailable less than replicas with percents", WithMaxUnavailable(10, "50%"), 5 },
        { "maxUnavailable equal replicas with percents", WithMaxUnavailable(10, "100%"), 10 },
        { "maxUnavailable greater than replicas with percents", WithMaxUnavailable(5, "100%"), 5 },
    };

    [Theory]
    [MemberData(nameof(MaxUnavailableCases))]
    public void MaxUnavailable_UpstreamCases(string name, Deployment d, int expected) =>
        Assert.True(expected == DeploymentUtil.MaxUnavailable(d), name);

    public static TheoryData<string, Deployment, int> MinAvailableCases => new()
    {
        { "replicas greater than maxUnavailable", WithMaxUnavailable(10, 5), 5 },
        { "replicas equal maxUnavailable", WithMaxUnavailable(10, 10), 0 },
        { "replicas less than maxUnavailable", WithMaxUnavailable(5, 10), 0 },
        { "replicas is 0", WithMaxUnavailable(0, 10), 0 },
        { "minAvailable with Recreate deployment strategy", new Deployment { Spec = new DeploymentSpec { Replicas = 10, Strategy = new DeploymentStrategy { Type = DeploymentUtil.RecreateStrategy } } }, 0 },
        { "replicas greater than maxUnavailable with percents", WithMaxUnavailable(10, "60%"), 4 },
        { "replicas equal maxUnavailable with percents", WithMaxUnavailable(10, "100%"), 0 },
        { "replicas less than maxUnavailable with percents", WithMaxUnavailable(5, "100%"), 0 },
    };

    [Theory]
    [MemberData(nameof(MinAvailableCases))]
    public void MinAvailable_UpstreamCases(string name, Deployment d, int expected) =>
        Assert.True(expected == DeploymentUtil.MinAvailable(d), name);

    [Fact]
    public void AnnotationUtils_RevisionHistoryReplicasAnnotationsAndSaturation()
    {
        var d = GenerateDeployment("nginx");
        var rs = GenerateRS(d);
        d.Metadata!.Annotations![DeploymentUtil.RevisionAnnotation] = "1";

        // SetNewReplicaSetAnnotations: revisions 11 to 20, a history limited to 5 characters.
        for (var i = 10; i < 20; i++)
        {
            var nextRevision = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            DeploymentUtil.SetNewReplicaSetAnnotations(d, rs, nextRevision, exists: true, revHistoryLimitInChars: 5);
            if (i >= 12)
            {
                Assert.Equal($"{i - 1},{i}", rs.Metadata!.Annotations![DeploymentUtil.RevisionHistoryAnnotation]);
            }
            Assert.Equal(nextRevision, rs.Metadata!.Annotations![DeploymentUtil.RevisionAnnotation]);
        }

        // SetReplicasAnnotations
        Assert.True(DeploymentUtil.SetReplicasAnnotations(rs, 10, 11));
        Assert.Equal("10", rs.Metadata!.Annotations![DeploymentUtil.DesiredReplicasAnnotation]);
        Assert.Equal("11", rs.Metadata.Annotations[DeploymentUtil.MaxReplicasAnnotation]);

        // IsSaturated
        rs.Metadata.Annotations[DeploymentUtil.DesiredReplicasAnnotation] = "1";
        rs.Status!.AvailableReplicas = 1;
        rs.Spec!.Replicas = 1;
        Assert.True(DeploymentUtil.IsSaturated(d, rs));
    }

    [Fact]
    public void SetNewReplicaSetAnnotations_CopiesDeploymentAnnotationsButTheSkipList()
    {
        var d = GenerateDeployment("nginx");
        d.Spec!.Replicas = 3;
        d.Spec.Strategy = new DeploymentStrategy { Type = DeploymentUtil.RollingUpdateStrategy, RollingUpdate = new() { MaxSurge = "25%", MaxUnavailable = "25%" } };
        foreach (var key in new[] { DeploymentUtil.LastAppliedConfigAnnotation, DeploymentUtil.RevisionAnnotation, DeploymentUtil.RevisionHistoryAnnotation,
            DeploymentUtil.DesiredReplicasAnnotation, DeploymentUtil.MaxReplicasAnnotation, DeploymentUtil.DeprecatedRollbackTo })
        {
            d.Metadata!.Annotations![key] = "9";
        }
        d.Metadata!.Annotations!["kubernetes.io/change-cause"] = "kubectl set image";
        var rs = GenerateRS(d);

        Assert.True(DeploymentUtil.SetNewReplicaSetAnnotations(d, rs, "4", exists: false, 2000));

        Assert.Equal(new Dictionary<string, string>
        {
            ["kubernetes.io/change-cause"] = "kubectl set image",
            [DeploymentUtil.RevisionAnnotation] = "4",
            [DeploymentUtil.DesiredReplicasAnnotation] = "3",
            [DeploymentUtil.MaxReplicasAnnotation] = "4",
        }, rs.Metadata!.Annotations);
    }

    public static TheoryData<string, Dictionary<string, string>?, bool> NeedUpdateCases => new()
    {
        { "test Annotations nil", null, true },
        { "test desiredReplicas update", new() { [DeploymentUtil.DesiredReplicasAnnotation] = "8", [DeploymentUtil.MaxReplicasAnnotation] = "20" }, true },
        { "test maxReplicas update", new() { [DeploymentUtil.DesiredReplicasAnnotation] = "10", [DeploymentUtil.MaxReplicasAnnotation] = "16" }, true },
        { "test needn't update", new() { [DeploymentUtil.DesiredReplicasAnnotation] = "10", [DeploymentUtil.MaxReplicasAnnotation] = "20" }, false },
    };

    [Theory]
    [MemberData(nameof(NeedUpdateCases))]
    public void ReplicasAnnotationsNeedUpdate_UpstreamCases(string name, Dictionary<string, string>? annotations, bool expected)
    {
        var rs = new ReplicaSet { Metadata = new ObjectMeta { Name = "hello", Namespace = "test", Annotations = annotations } };
        Assert.True(expected == DeploymentUtil.ReplicasAnnotationsNeedUpdate(rs, 10, 20), name);
    }

    [Fact]
    public void GetDeploymentsForReplicaSet_MatchesBySelector()
    {
        var deployments = Enumerable.Range(0, 3).Select(i => new Deployment
        {
            Metadata = new ObjectMeta { Name = $"deployment-{i}", Namespace = "test" },
            Spec = new DeploymentSpec { Selector = new LabelSelector { MatchLabels = new() { ["app"] = $"test-{i}" } } },
        }).ToList();
        var rss = Enumerable.Range(0, 5).Select(i => new ReplicaSet
        {
            Metadata = new ObjectMeta { Namespace = "test", Name = $"test-replicaSet-{i}", Labels = new() { ["app"] = $"test-{i}", ["label"] = $"label-{i}" } },
        }).ToList();

        for (var i = 0; i < 3; i++)
        {
            Assert.Same(deployments[i], Assert.Single(DeploymentUtil.GetDeploymentsForReplicaSet(deployments, rss[i])));
        }
        Assert.Empty(DeploymentUtil.GetDeploymentsForReplicaSet(deployments, rss[3]));
        Assert.Empty(DeploymentUtil.GetDeploymentsForReplicaSet(deployments, rss[4]));
    }

    [Theory]
    [InlineData("empty deployment always scales to 0", 0, 0, 0, 10, null, -10)]
    [InlineData("unsynced deployment does not scale when max-replicas annotation is missing (removed by a 3rd party)", 10, 0, 0, 5, null, 0)]
    [InlineData("unsynced deployment does not scale when max-replicas annotation is incorrectly set to 0 (by a 3rd party)", 10, 0, 0, 5, "0", 0)]
    [InlineData("scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is missing (removed by a 3rd party)", 120, 100, 0, 50, null, 10)]
    [InlineData("scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is incorrectly set to 0 (by a 3rd party)", 120, 100, 0, 50, "0", 10)]
    [InlineData("scale up by 1/5 should increase RS replicas by 1/5", 120, 0, 0, 50, "100", 10)]
    [InlineData("scale up with maxSurge by 1/5 should increase RS replicas approximately by 1/5", 120, 0, 10, 50, "110", 9)]
    [InlineData("scale down by 1/6 should decrease RS replicas by 1/6", 10, 0, 0, 6, "12", -1)]
    [InlineData("scale down with maxSurge by 1/6 should decrease RS replicas approximately by 1/6", 100, 0, 10, 50, "130", -8)]
    public void GetReplicaSetFraction_UpstreamCases(string name, int deploymentReplicas, int deploymentStatusReplicas, int maxSurge, int rsReplicas, string? maxReplicasAnnotation, int expected)
    {
        var d = GenerateDeployment("nginx");
        d.Status!.Replicas = deploymentStatusReplicas;
        d.Spec!.Replicas = deploymentReplicas;
        d.Spec.Strategy = new DeploymentStrategy
        {
            Type = DeploymentUtil.RollingUpdateStrategy,
            RollingUpdate = new RollingUpdateDeployment { MaxSurge = IntOrString.FromInt32(maxSurge), MaxUnavailable = IntOrString.FromInt32(1) },
        };
        var rs = GenerateRS(d);
        rs.Metadata!.Annotations = maxReplicasAnnotation is null ? null : new() { [DeploymentUtil.MaxReplicasAnnotation] = maxReplicasAnnotation };
        rs.Spec!.Replicas = rsReplicas;
        Assert.True(expected == DeploymentUtil.GetReplicaSetFraction(rs, d), $"{name}: got {DeploymentUtil.GetReplicaSetFraction(rs, d)}");
    }

    [Theory]
    [InlineData(5, 3, 0, 3)]   // the fraction (+5) capped by what may be added
    [InlineData(5, 3, 2, 1)]   // capped by what is left after earlier ReplicaSets
    [InlineData(-5, -3, 0, -3)] // scaling down: never more than may be removed
    [InlineData(5, 3, 3, 0)]   // nothing left to add
    public void GetProportion_CapsTheFractionByWhatIsLeft(int fractionBase, int toAdd, int added, int expected)
    {
        // 5 replicas recorded against a maximum of 5: a maximum of 10 doubles it (+5); of 0 removes it all (-5).
        var d = GenerateDeployment("nginx");
        d.Spec!.Replicas = fractionBase > 0 ? 10 : 0;
        d.Spec.Strategy = new DeploymentStrategy { Type = DeploymentUtil.RollingUpdateStrategy, RollingUpdate = new() { MaxSurge = 0, MaxUnavailable = 1 } };
        var rs = GenerateRS(d);
        rs.Spec!.Replicas = 5;
        rs.Metadata!.Annotations = new() { [DeploymentUtil.MaxReplicasAnnotation] = "5" };
        Assert.Equal(fractionBase, DeploymentUtil.GetReplicaSetFraction(rs, d));
        Assert.Equal(expected, DeploymentUtil.GetProportion(rs, d, toAdd, added));
    }

    [Fact]
    public void ReplicaSetOrders_TieBreakAsUpstream()
    {
        var t = new DateTimeOffset(2016, 5, 20, 0, 0, 0, TimeSpan.Zero);
        var older = Rs("b-older", 2, timestamp: t);
        var newer = Rs("a-newer", 2, timestamp: t.AddMinutes(1));
        var big = Rs("c-big", 3, timestamp: t.AddMinutes(2));
        var sameTimeA = Rs("a", 1, timestamp: t);
        var sameTimeB = Rs("b", 1, timestamp: t);

        var bySizeNewer = new List<ReplicaSet> { older, big, newer };
        bySizeNewer.Sort(DeploymentUtil.BySizeNewer);
        Assert.Equal(["c-big", "a-newer", "b-older"], bySizeNewer.Select(r => r.Metadata!.Name));
        var bySizeOlder = new List<ReplicaSet> { newer, big, older };
        bySizeOlder.Sort(DeploymentUtil.BySizeOlder);
        Assert.Equal(["c-big", "b-older", "a-newer"], bySizeOlder.Select(r => r.Metadata!.Name));
        var byTime = new List<ReplicaSet> { sameTimeB, sameTimeA };
        byTime.Sort(DeploymentUtil.ByCreationTimestamp);
        Assert.Equal(["a", "b"], byTime.Select(r => r.Metadata!.Name));
    }
}
