using Berth.Api.Models;
using Berth.Controllers.Framework;
using static Berth.Controllers.Tests.Scheduler.SchedulerObjects;

namespace Berth.Controllers.Tests.Framework;

public sealed class TolerationsTests
{
    // k8s.io/api/core/v1 toleration_test.go TestTolerationToleratesTaint.
    public static TheoryData<string, Toleration, Taint, bool> TolerationCases => new()
    {
        { "same key and effect, Exists, taint without value", Tol("foo", "Exists", null, "NoSchedule"), Taint("foo", null, "NoSchedule"), true },
        { "same key and effect, Exists, taint with value", Tol("foo", "Exists", null, "NoSchedule"), Taint("foo", "bar", "NoSchedule"), true },
        { "same effect, different key, Exists", Tol("foo", "Exists", null, "NoSchedule"), Taint("bar", "baz", "NoSchedule"), false },
        { "same key, effect and value, Equal", Tol("foo", "Equal", "bar", "NoSchedule"), Taint("foo", "bar", "NoSchedule"), true },
        { "same key and effect, different value, Equal", Tol("foo", "Equal", "bar", "NoSchedule"), Taint("foo", "baz", "NoSchedule"), false },
        { "same key and value, different effect", Tol("foo", "Equal", "bar", "NoSchedule"), Taint("foo", "bar", "NoExecute"), false },
        { "empty operator means Equal", Tol("foo", null, "bar", "NoSchedule"), Taint("foo", "bar", "NoSchedule"), true },
        { "empty key with Exists tolerates every key", Tol(null, "Exists", null, "NoSchedule"), Taint("any", "thing", "NoSchedule"), true },
        { "empty effect matches every effect", Tol("foo", "Equal", "bar", null), Taint("foo", "bar", "NoExecute"), true },
        { "unknown operator tolerates nothing", Tol("foo", "Lt", "bar", "NoSchedule"), Taint("foo", "bar", "NoSchedule"), false },
    };

    [Theory]
    [MemberData(nameof(TolerationCases))]
    public void ToleratesTaint_Table(string name, Toleration toleration, Taint taint, bool expected)
    {
        Assert.True(expected == Tolerations.ToleratesTaint(toleration, taint), name);
    }

    private static readonly Taint s_key1 = Taint("key1", "value1", "NoExecute");
    private static readonly Taint s_key2 = Taint("key2", "value2", "NoExecute");
    private static readonly Toleration s_tolerateKey1 = Tol("key1", "Equal", "value1", "NoExecute");
    private static readonly Toleration s_tolerateKey1Again = Tol("key1", "Exists", null, null);
    private static readonly Toleration s_tolerateKey2 = Tol("key2", "Equal", "value2", "NoExecute");

    // pkg/apis/core/v1/helper helpers_test.go TestGetMatchingTolerations: the first toleration per taint, nothing
    // when one taint is not tolerated.
    public static TheoryData<string, Taint[], Toleration[]?, bool, Toleration[]> MatchingCases => new()
    {
        { "no taints", [], [s_tolerateKey1], true, [] },
        { "no tolerations", [s_key1], null, false, [] },
        { "empty tolerations", [s_key1], [], false, [] },
        { "all tolerated, the first matching toleration each", [s_key1, s_key2], [s_tolerateKey1, s_tolerateKey1Again, s_tolerateKey2], true, [s_tolerateKey1, s_tolerateKey2] },
        { "one taint not tolerated", [s_key1, s_key2], [s_tolerateKey1Again], false, [] },
    };

    [Theory]
    [MemberData(nameof(MatchingCases))]
    public void GetMatchingTolerations_Table(string name, Taint[] taints, Toleration[]? tolerations, bool allTolerated, Toleration[] used)
    {
        var (actualAll, actualUsed) = Tolerations.GetMatchingTolerations(taints, tolerations);
        Assert.True(allTolerated == actualAll, name);
        Assert.Equal(used, actualUsed);
    }

    [Fact]
    public void FindMatchingUntoleratedTaint_OnlyTaintsTheFilterIncludes()
    {
        var prefer = Taint("soft", null, "PreferNoSchedule");
        var hard = Taint("hard", null, "NoSchedule");
        Assert.Same(hard, Tolerations.FindMatchingUntoleratedTaint([prefer, hard], [], t => t.Effect != "PreferNoSchedule"));
        Assert.Same(prefer, Tolerations.FindMatchingUntoleratedTaint([prefer, hard], [], _ => true));
        Assert.Null(Tolerations.FindMatchingUntoleratedTaint([prefer, hard], [Tol(null, "Exists", null, null)], _ => true));
    }
}
