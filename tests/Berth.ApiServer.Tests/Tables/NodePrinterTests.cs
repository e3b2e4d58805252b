using static Berth.ApiServer.Tests.Tables.TableTestSupport;

namespace Berth.ApiServer.Tests.Tables;

// printNode: cases after TestPrintNodeStatus / TestPrintNodeRole / TestPrintNodeInternalIP upstream.
public class NodePrinterTests
{
    public static TheoryData<string, bool, string> StatusCases => new()
    {
        { """[{"type":"Ready","status":"True"}]""", false, "Ready" },
        { """[{"type":"Ready","status":"True"}]""", true, "Ready,SchedulingDisabled" },
        { """[{"type":"Ready","status":"False"}]""", false, "NotReady" },
        { """[{"type":"Ready","status":"Unknown"}]""", false, "NotReady" },
        { """[{"type":"Ready","status":"False"}]""", true, "NotReady,SchedulingDisabled" },
        { """[]""", false, "Unknown" },
        { """[{"type":"MemoryPressure","status":"False"}]""", true, "Unknown,SchedulingDisabled" },
        { """[{"type":"Ready","status":"False"},{"type":"Ready","status":"True"}]""", false, "Ready" },
    };

    [Theory]
    [MemberData(nameof(StatusCases))]
    public void Cells_NodeStatus_FromReadyConditionAndUnschedulable(string conditions, bool unschedulable, string expected)
    {
        var json = """{"metadata":{"name":"n"},"spec":{"unschedulable":UNSCHED},"status":{"conditions":CONDITIONS}}"""
            .Replace("UNSCHED", unschedulable ? "true" : "false", StringComparison.Ordinal)
            .Replace("CONDITIONS", conditions, StringComparison.Ordinal);

        Assert.Equal(expected, Row("nodes", json)[1]);
    }

    [Theory]
    [InlineData("""{}""", "<none>")]
    [InlineData("""{"node-role.kubernetes.io/control-plane":""}""", "control-plane")]
    [InlineData("""{"node-role.kubernetes.io/worker":"","node-role.kubernetes.io/control-plane":"","kubernetes.io/role":"node"}""", "control-plane,node,worker")]
    [InlineData("""{"node-role.kubernetes.io/":"","kubernetes.io/role":""}""", "<none>")]
    [InlineData("""{"kubernetes.io/role":"master","node-role.kubernetes.io/master":""}""", "master")]
    public void Cells_NodeRoles_FromLabels(string labels, string expected)
    {
        var json = """{"metadata":{"name":"n","labels":LABELS}}""".Replace("LABELS", labels, StringComparison.Ordinal);

        Assert.Equal(expected, Row("nodes", json)[2]);
    }

    [Fact]
    public void Cells_LocalNode_AllColumns()
    {
        var json = """
            {"metadata":{"name":"berth-node","creationTimestamp":"T-11d","labels":{"kubernetes.io/hostname":"berth-node","node-role.kubernetes.io/control-plane":""}},
             "spec":{},
             "status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True"}],
                       "addresses":[{"type":"Hostname","address":"berth-node"},{"type":"InternalIP","address":"127.0.0.1"},{"type":"InternalIP","address":"127.0.0.2"}],
                       "nodeInfo":{"kubeletVersion":"v1.32.0","osImage":"Ubuntu 24.04 LTS","kernelVersion":"6.8.0-45-generic","containerRuntimeVersion":"berth://0.1.0"}}}
            """;

        Assert.Equal(
            new object[] { "berth-node", "Ready", "control-plane", "11d", "v1.32.0", "127.0.0.1", "<none>", "Ubuntu 24.04 LTS", "6.8.0-45-generic", "berth://0.1.0" },
            Row("nodes", json));
    }

    [Fact]
    public void Cells_BareNode_UnknownAndNone()
    {
        Assert.Equal(
            new object[] { "foo2", "Unknown", "<none>", "<unknown>", "", "<none>", "1.1.1.1", "<unknown>", "<unknown>", "<unknown>" },
            Row("nodes", """{"metadata":{"name":"foo2"},"status":{"addresses":[{"type":"ExternalIP","address":"1.1.1.1"}]}}"""));
    }
}
