using static Berth.ApiServer.Tests.Tables.TableTestSupport;

namespace Berth.ApiServer.Tests.Tables;

// printEvent, wide layout (Last Seen, Type, Reason, Object, Subobject, Source, Message, First Seen, Count, Name),
// after TestPrintEvent upstream.
public class EventPrinterTests
{
    [Fact]
    public void Cells_CoreEvent_AllColumns()
    {
        var json = """
            {"metadata":{"name":"event2","namespace":"default"},
             "involvedObject":{"kind":"Deployment","name":"Deployment Name","fieldPath":"spec.containers{foo}"},
             "reason":"Event Reason","message":"Message Data\n","type":"Warning","count":6,
             "firstTimestamp":"T-3d","lastTimestamp":"T-2d","source":{"component":"kubelet","host":"Node1"}}
            """;

        Assert.Equal(
            new object[] { "2d", "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", "kubelet, Node1", "Message Data", "3d", 6L, "event2" },
            Row("events", json));
    }

    [Fact]
    public void Cells_EventWithoutTimestamps_UsesEventTimeAndCountsOne()
    {
        var json = """
            {"metadata":{"name":"event3"},"involvedObject":{"kind":"Pod","name":"kiada-001"},
             "reason":"Scheduled","message":"Successfully assigned default/kiada-001 to berth-node","type":"Normal",
             "eventTime":"2024-12-31T23:59:30.000000Z","reportingComponent":"default-scheduler","reportingInstance":"default-scheduler-berth"}
            """;

        Assert.Equal(
            new object[] { "30s", "Normal", "Scheduled", "pod/kiada-001", "", "default-scheduler, default-scheduler-berth", "Successfully assigned default/kiada-001 to berth-node", "30s", 1L, "event3" },
            Row("events", json));
    }

    [Fact]
    public void Cells_EventSeries_LastSeenAndCountFromSeries()
    {
        var json = """
            {"metadata":{"name":"event4"},"involvedObject":{"kind":"Pod","name":"p"},"type":"Warning","reason":"BackOff","message":"Back-off restarting failed container",
             "firstTimestamp":"T-10m","lastTimestamp":"T-9m","count":2,
             "series":{"count":42,"lastObservedTime":"2024-12-31T23:59:55.123456Z"},"source":{"component":"kubelet"}}
            """;

        Assert.Equal(
            new object[] { "4s", "Warning", "BackOff", "pod/p", "", "kubelet", "Back-off restarting failed container", "10m", 42L, "event4" },
            Row("events", json));
    }

    [Fact]
    public void Cells_EventWithOnlyFirstTimestamp_LastSeenIsFirstSeen()
    {
        var json = """{"metadata":{"name":"e"},"involvedObject":{"kind":"Node"},"firstTimestamp":"T-1h","count":3}""";

        Assert.Equal(
            new object[] { "60m", "", "", "node", "", "", "", "60m", 3L, "e" },
            Row("events", json));
    }

    [Fact]
    public void Cells_EventWithoutAnyTime_IsUnknown()
    {
        var cells = Row("events", """{"metadata":{"name":"e"},"involvedObject":{"kind":"Service","name":"kiada"}}""");

        Assert.Equal("<unknown>", cells[0]);
        Assert.Equal("<unknown>", cells[7]);
        Assert.Equal("service/kiada", cells[3]);
    }
}
