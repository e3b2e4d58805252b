using Berth.ApiServer.Tables;
using static Berth.ApiServer.Tests.Tables.TableTestSupport;

namespace Berth.ApiServer.Tests.Tables;

// Cases follow TestPrintPod / TestPrintPodWithRestartableInitContainer in
// kubernetes pkg/printers/internalversion/printers_test.go, written as stored v1 JSON.
public class PodPrinterTests
{

    public static TheoryData<string, string, string, string, string> StatusCases => new()
    {
        {
            "restarts summed, ready counted only when running",
            """{"metadata":{"name":"test1"},"spec":{"containers":[{},{}]},"status":{"phase":"podPhase","containerStatuses":[ {"ready":true,"restartCount":3,"state":{"running":{}}},{"restartCount":3}]}}""",
            "1/2", "podPhase", "6"
        },
        {
            "container waiting reason overrides phase",
            """{"metadata":{"name":"test2"},"spec":{"containers":[{},{}]},"status":{"phase":"podPhase","containerStatuses":[ {"ready":true,"restartCount":3,"state":{"running":{}}},{"restartCount":3,"state":{"waiting":{"reason":"ContainerWaitingReason"}}}]}}""",
            "1/2", "ContainerWaitingReason", "6"
        },
        {
            "first container wins (statuses are walked backwards)",
            """{"metadata":{"name":"test3"},"spec":{"containers":[{},{}]},"status":{"phase":"podPhase","containerStatuses":[ {"restartCount":3,"state":{"waiting":{"reason":"ContainerWaitingReason"}}}, {"restartCount":3,"state":{"terminated":{"reason":"ContainerTerminatedReason"}}}]}}""",
            "0/2", "ContainerWaitingReason", "6"
        },
        {
            "ready without running state is not ready",
            """{"metadata":{"name":"test4"},"spec":{"containers":[{},{}]},"status":{"phase":"podPhase","containerStatuses":[ {"ready":true,"restartCount":3,"state":{"running":{}}},{"ready":true,"restartCount":3}]}}""",
            "1/2", "podPhase", "6"
        },
        {
            "status.reason overrides phase",
            """{"metadata":{"name":"test5"},"spec":{"containers":[{},{}]},"status":{"reason":"podReason","phase":"podPhase","containerStatuses":[ {"ready":true,"restartCount":3,"state":{"running":{}}},{"ready":true,"restartCount":3}]}}""",
            "1/2", "podReason", "6"
        },
        {
            "completed plus running without Ready condition is NotReady",
            """{"metadata":{"name":"test6"},"spec":{"containers":[{},{}]},"status":{"phase":"Running","containerStatuses":[ {"ready":true,"restartCount":3,"state":{"terminated":{"reason":"Completed","exitCode":0}}}, {"ready":true,"restartCount":3,"state":{"running":{}}}]}}""",
            "1/2", "NotReady", "6"
        },
        {
            "completed plus running with Ready condition is Running",
            """{"metadata":{"name":"test6"},"spec":{"containers":[{},{}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[ {"ready":true,"restartCount":3,"state":{"terminated":{"reason":"Completed","exitCode":0}}}, {"ready":true,"restartCount":3,"state":{"running":{}}}]}}""",
            "1/2", "Running", "6"
        },
        {
            "init container restarting",
            """{"metadata":{"name":"test7"},"spec":{"initContainers":[{}],"containers":[{}]},"status":{"phase":"podPhase", "initContainerStatuses":[{"ready":false,"restartCount":3,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-10s"}}}], "containerStatuses":[{"ready":false,"restartCount":0,"state":{"waiting":{}}}]}}""",
            "0/1", "Init:0/1", "3 (10s ago)"
        },
        {
            "second of two init containers not started",
            """{"metadata":{"name":"test8"},"spec":{"initContainers":[{},{}],"containers":[{}]},"status":{"phase":"podPhase", "initContainerStatuses":[{"ready":false,"restartCount":3,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-10s"}}}, {"ready":false,"state":{"waiting":{}}}], "containerStatuses":[{"ready":false,"state":{"waiting":{}}}]}}""",
            "0/1", "Init:0/2", "3 (10s ago)"
        },
        {
            "first init container done, second restarting",
            """{"metadata":{"name":"test9"},"spec":{"initContainers":[{},{}],"containers":[{}]},"status":{"phase":"podPhase", "initContainerStatuses":[{"ready":false,"state":{"terminated":{}}}, {"ready":false,"restartCount":3,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-10s"}}}], "containerStatuses":[{"ready":false,"state":{"waiting":{}}}]}}""",
            "0/1", "Init:1/2", "3 (10s ago)"
        },
        {
            "init restarts add up while initializing",
            """{"metadata":{"name":"test10"},"spec":{"initContainers":[{},{}],"containers":[{}]},"status":{"phase":"podPhase", "initContainerStatuses":[{"ready":false,"restartCount":2,"state":{"terminated":{}},"lastState":{"terminated":{"finishedAt":"T-2m"}}}, {"ready":false,"restartCount":3,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-10s"}}}], "containerStatuses":[{"ready":false,"state":{"waiting":{}}}]}}""",
            "0/1", "Init:1/2", "5 (10s ago)"
        },
        {
            "init restarts forgotten once initialized",
            """{"metadata":{"name":"test11"},"spec":{"initContainers":[{}],"containers":[{}]},"status":{"phase":"Running", "initContainerStatuses":[{"ready":false,"restartCount":2,"state":{"terminated":{}},"lastState":{"terminated":{"finishedAt":"T-2m"}}}], "containerStatuses":[{"ready":false,"restartCount":4,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-20s"}}}]}}""",
            "0/1", "Running", "4 (20s ago)"
        },
        {
            "restart 5d ago",
            """{"metadata":{"name":"test12"},"spec":{"containers":[{}]},"status":{"phase":"Running", "containerStatuses":[{"ready":true,"restartCount":3,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-5d"}}}]}}""",
            "1/1", "Running", "3 (5d ago)"
        },
        {
            "only one container restarted",
            """{"metadata":{"name":"test13"},"spec":{"containers":[{},{}]},"status":{"phase":"Running", "containerStatuses":[{"ready":true,"restartCount":0,"state":{"running":{}}}, {"ready":true,"restartCount":3,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-10d"}}}]}}""",
            "2/2", "Running", "3 (10d ago)"
        },
        {
            "most recent restart across containers",
            """{"metadata":{"name":"test14"},"spec":{"containers":[{},{}]},"status":{"phase":"Running", "containerStatuses":[{"ready":true,"restartCount":6,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-5d"}}}, {"ready":true,"restartCount":3,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-20d"}}}]}}""",
            "2/2", "Running", "9 (5d ago)"
        },
        {
            "scheduling gated",
            """{"metadata":{"name":"test15"},"spec":{"containers":[{},{}]},"status":{"phase":"podPhase", "conditions":[{"type":"PodScheduled","status":"False","reason":"SchedulingGated"}]}}""",
            "0/2", "SchedulingGated", "0"
        },
        {
            "succeeded",
            """{"metadata":{"name":"test16"},"spec":{"containers":[{}]},"status":{"phase":"Succeeded", "containerStatuses":[{"ready":false,"restartCount":0,"state":{"terminated":{"reason":"Completed","exitCode":0}}}]}}""",
            "0/1", "Completed", "0"
        },
        {
            "failed",
            """{"metadata":{"name":"test17"},"spec":{"containers":[{}]},"status":{"phase":"Failed", "containerStatuses":[{"ready":false,"restartCount":0,"state":{"terminated":{"reason":"Error","exitCode":1}}}]}}""",
            "0/1", "Error", "0"
        },
        {
            "succeeded while deleting stays Completed",
            """{"metadata":{"name":"test18","deletionTimestamp":"2024-12-31T23:59:50Z"},"spec":{"containers":[{}]},"status":{"phase":"Succeeded", "containerStatuses":[{"ready":false,"restartCount":0,"state":{"terminated":{"reason":"Completed","exitCode":0}}}]}}""",
            "0/1", "Completed", "0"
        },
        {
            "running while deleting is Terminating",
            """{"metadata":{"name":"test19","deletionTimestamp":"2024-12-31T23:59:50Z"},"spec":{"containers":[{}]},"status":{"phase":"Running", "containerStatuses":[{"ready":false,"restartCount":0,"state":{"running":{}}}]}}""",
            "0/1", "Terminating", "0"
        },
        {
            "pending while deleting is Terminating",
            """{"metadata":{"name":"test20","deletionTimestamp":"2024-12-31T23:59:50Z"},"spec":{"containers":[{}]},"status":{"phase":"Pending"}}""",
            "0/1", "Terminating", "0"
        },
        {
            "node lost while deleting is Unknown",
            """{"metadata":{"name":"lost","deletionTimestamp":"2024-12-31T23:59:50Z"},"spec":{"containers":[{}]},"status":{"phase":"Running","reason":"NodeLost"}}""",
            "0/1", "Unknown", "0"
        },
        {
            "node lost without deletion shows the reason",
            """{"metadata":{"name":"lost"},"spec":{"containers":[{}]},"status":{"phase":"Running","reason":"NodeLost"}}""",
            "0/1", "NodeLost", "0"
        },
        {
            "crash loop back-off",
            """{"metadata":{"name":"crash"},"spec":{"containers":[{"name":"app"}]},"status":{"phase":"Running", "containerStatuses":[{"name":"app","ready":false,"restartCount":7,"state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s"}}, "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"T-2m"}}}]}}""",
            "0/1", "CrashLoopBackOff", "7 (2m ago)"
        },
        {
            "terminated without reason shows the exit code",
            """{"metadata":{"name":"exit"},"spec":{"containers":[{}]},"status":{"phase":"Failed", "containerStatuses":[{"state":{"terminated":{"exitCode":3}}}]}}""",
            "0/1", "ExitCode:3", "0"
        },
        {
            "terminated by a signal without reason",
            """{"metadata":{"name":"sig"},"spec":{"containers":[{}]},"status":{"phase":"Failed", "containerStatuses":[{"state":{"terminated":{"exitCode":137,"signal":9}}}]}}""",
            "0/1", "Signal:9", "0"
        },
        {
            "init container failed with a reason",
            """{"metadata":{"name":"initfail"},"spec":{"initContainers":[{}],"containers":[{}]},"status":{"phase":"Pending", "initContainerStatuses":[{"state":{"terminated":{"exitCode":1,"reason":"Error"}}}],"containerStatuses":[{"state":{"waiting":{"reason":"PodInitializing"}}}]}}""",
            "0/1", "Init:Error", "0"
        },
        {
            "init container failed without reason",
            """{"metadata":{"name":"initexit"},"spec":{"initContainers":[{}],"containers":[{}]},"status":{"phase":"Pending", "initContainerStatuses":[{"state":{"terminated":{"exitCode":2}}}]}}""",
            "0/1", "Init:ExitCode:2", "0"
        },
        {
            "init container killed by a signal",
            """{"metadata":{"name":"initsig"},"spec":{"initContainers":[{}],"containers":[{}]},"status":{"phase":"Pending", "initContainerStatuses":[{"state":{"terminated":{"exitCode":137,"signal":9}}}]}}""",
            "0/1", "Init:Signal:9", "0"
        },
        {
            "init container waiting with a reason",
            """{"metadata":{"name":"initwait"},"spec":{"initContainers":[{}],"containers":[{}]},"status":{"phase":"Pending", "initContainerStatuses":[{"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}""",
            "0/1", "Init:CrashLoopBackOff", "0"
        },
        {
            "init container PodInitializing counts as progress",
            """{"metadata":{"name":"initpi"},"spec":{"initContainers":[{}],"containers":[{}]},"status":{"phase":"Pending", "initContainerStatuses":[{"state":{"waiting":{"reason":"PodInitializing"}}}]}}""",
            "0/1", "Init:0/1", "0"
        },
        {
            "sidecars: first running but not started",
            """{"metadata":{"name":"side1"},"spec":{"initContainers":[{"name":"restartable-init-1","restartPolicy":"Always"},{"name":"restartable-init-2","restartPolicy":"Always"}],"containers":[{}]}, "status":{"phase":"Pending","conditions":[{"type":"Initialized","status":"False"}], "initContainerStatuses":[{"name":"restartable-init-1","ready":false,"restartCount":3,"state":{"running":{}},"started":false,"lastState":{"terminated":{"finishedAt":"T-10s"}}}, {"name":"restartable-init-2","ready":false,"state":{"waiting":{}},"started":false}], "containerStatuses":[{"ready":false,"restartCount":0,"state":{"waiting":{}}}]}}""",
            "0/3", "Init:0/2", "3 (10s ago)"
        },
        {
            "sidecars: first started, second not",
            """{"metadata":{"name":"side2"},"spec":{"initContainers":[{"name":"restartable-init-1","restartPolicy":"Always"},{"name":"restartable-init-2","restartPolicy":"Always"}],"containers":[{}]}, "status":{"phase":"Pending","conditions":[{"type":"Initialized","status":"False"}], "initContainerStatuses":[{"name":"restartable-init-1","ready":false,"restartCount":3,"state":{"running":{}},"started":true,"lastState":{"terminated":{"finishedAt":"T-10s"}}}, {"name":"restartable-init-2","ready":false,"state":{"running":{}},"started":false}], "containerStatuses":[{"ready":false,"restartCount":0,"state":{"waiting":{}}}]}}""",
            "0/3", "Init:1/2", "3 (10s ago)"
        },
        {
            "sidecars started and ready count toward READY, their restarts stay",
            """{"metadata":{"name":"side3"},"spec":{"initContainers":[{"name":"restartable-init-1","restartPolicy":"Always"},{"name":"restartable-init-2","restartPolicy":"Always"}],"containers":[{}]}, "status":{"phase":"Running","conditions":[{"type":"Initialized","status":"True"}], "initContainerStatuses":[{"name":"restartable-init-1","ready":true,"restartCount":3,"state":{"running":{}},"started":true,"lastState":{"terminated":{"finishedAt":"T-10s"}}}, {"name":"restartable-init-2","ready":true,"state":{"running":{}},"started":true}], "containerStatuses":[{"ready":true,"restartCount":4,"state":{"running":{}},"lastState":{"terminated":{"finishedAt":"T-20s"}}}]}}""",
            "3/3", "Running", "7 (10s ago)"
        },
    };

    [Theory]
    [MemberData(nameof(StatusCases))]
    public void Cells_PodStatus_MatchesUpstream(string scenario, string json, string ready, string status, string restarts)
    {
        var cells = Row("pods", json);
        Assert.True(ready == (string)cells[1], scenario + ": ready " + cells[1]);
        Assert.True(status == (string)cells[2], scenario + ": status " + cells[2]);
        Assert.True(restarts == (string)cells[3], scenario + ": restarts " + cells[3]);
    }

    [Fact]
    public void Cells_RunningPod_AllColumns()
    {
        var json = """
            {"apiVersion":"v1","kind":"Pod",
             "metadata":{"name":"kiada-001","namespace":"kiada","creationTimestamp":"T-5m"},
             "spec":{"nodeName":"kind-worker","containers":[{"name":"kiada","image":"luksa/kiada:0.5"},{"name":"envoy","image":"envoyproxy/envoy:v1.14.1"}],
                     "readinessGates":[{"conditionType":"example.com/gate"},{"conditionType":"example.com/other"}]},
             "status":{"phase":"Running","podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"}],
                       "conditions":[{"type":"Ready","status":"True"},{"type":"example.com/gate","status":"True"},{"type":"example.com/other","status":"False"}],
                       "containerStatuses":[{"name":"kiada","ready":true,"restartCount":0,"state":{"running":{"startedAt":"2024-12-31T23:55:05Z"}}},
                                            {"name":"envoy","ready":true,"restartCount":0,"state":{"running":{}}}]}}
            """;

        Assert.Equal(
            new object[] { "kiada-001", "2/2", "Running", "0", "5m", "10.244.1.5", "kind-worker", "<none>", "1/2" },
            Row("pods", json));
    }

    [Fact]
    public void Cells_UnscheduledPod_WideColumnsAreNone()
    {
        var json = """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"}]},"status":{"phase":"Pending","nominatedNodeName":"node-b"}}""";

        Assert.Equal(
            new object[] { "p", "0/1", "Pending", "0", "<unknown>", "<none>", "<none>", "node-b", "<none>" },
            Row("pods", json));
    }

    [Fact]
    public void Cells_PodIPsPreferredOverPodIP()
    {
        var json = """{"metadata":{"name":"p"},"spec":{"containers":[{}]},"status":{"podIP":"10.0.0.1","podIPs":[{"ip":"fd00::1"},{"ip":"10.0.0.1"}]}}""";

        Assert.Equal("fd00::1", Row("pods", json)[5]);
    }

    [Theory]
    [InlineData("Succeeded", "Succeeded", "The pod has completed successfully.")]
    [InlineData("Failed", "Failed", "The pod failed.")]
    public void RowConditions_TerminalPod_IsCompleted(string phase, string reason, string message)
    {
        var conditions = TablePrinters.RowConditions("pods", Parse("""{"metadata":{"name":"p"},"status":{"phase":"PHASE"}}""".Replace("PHASE", phase, StringComparison.Ordinal)));

        Assert.NotNull(conditions);
        var condition = Assert.Single(conditions!)!.AsObject();
        Assert.Equal("Completed", (string?)condition["type"]);
        Assert.Equal("True", (string?)condition["status"]);
        Assert.Equal(reason, (string?)condition["reason"]);
        Assert.Equal(message, (string?)condition["message"]);
    }

    [Theory]
    [InlineData("pods", "Running")]
    [InlineData("services", "Succeeded")]
    public void RowConditions_NonTerminal_IsNull(string resource, string phase) =>
        Assert.Null(TablePrinters.RowConditions(resource, Parse("""{"metadata":{"name":"p"},"status":{"phase":"PHASE"}}""".Replace("PHASE", phase, StringComparison.Ordinal))));
}
