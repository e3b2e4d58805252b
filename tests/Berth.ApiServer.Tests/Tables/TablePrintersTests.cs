using System.Text.Json.Nodes;
using Berth.ApiServer.Tables;
using static Berth.ApiServer.Tests.Tables.TableTestSupport;

namespace Berth.ApiServer.Tests.Tables;

public class TablePrintersTests
{
    // Column names and priorities of AddHandlers in pkg/printers/internalversion/printers.go (v1.32);
    // "*" marks priority 1 (shown by kubectl only with -o wide).
    public static TheoryData<string, string> Layouts => new()
    {
        { "pods", "Name|Ready|Status|Restarts|Age|IP*|Node*|Nominated Node*|Readiness Gates*" },
        { "services", "Name|Type|Cluster-IP|External-IP|Port(s)|Age|Selector*" },
        { "deployments.apps", "Name|Ready|Up-to-date|Available|Age|Containers*|Images*|Selector*" },
        { "replicasets.apps", "Name|Desired|Current|Ready|Age|Containers*|Images*|Selector*" },
        { "namespaces", "Name|Status|Age" },
        { "nodes", "Name|Status|Roles|Age|Version|Internal-IP*|External-IP*|OS-Image*|Kernel-Version*|Container-Runtime*" },
        { "endpoints", "Name|Endpoints|Age" },
        { "endpointslices.discovery.k8s.io", "Name|AddressType|Ports|Endpoints|Age" },
        { "events", "Last Seen|Type|Reason|Object|Subobject*|Source*|Message|First Seen*|Count*|Name*" },
        { "configmaps", "Name|Data|Age" },
        { "secrets", "Name|Type|Data|Age" },
        { "persistentvolumeclaims", "Name|Status|Volume|Capacity|Access Modes|StorageClass|VolumeAttributesClass|Age|VolumeMode*" },
        { "leases.coordination.k8s.io", "Name|Holder|Age" },
        { "secrets.unknown", "Name|Created At" },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void ColumnDefinitions_Resource_MatchesUpstreamLayout(string resource, string layout)
    {
        var columns = TablePrinters.ColumnDefinitions(resource);

        var actual = string.Join("|", columns.Select(c => (string)c!["name"]! + ((int)c["priority"]! == 1 ? "*" : "")));
        Assert.Equal(layout, actual);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Cells_EmptyObject_OneCellPerColumn(string resource, string layout)
    {
        var cells = TablePrinters.Cells(resource, new JsonObject(), Now);

        Assert.Equal(layout.Split('|').Length, cells.Count);
        Assert.All(cells, c => Assert.NotNull(c));
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void ColumnDefinitions_EveryColumn_HasAllFields(string resource, string layout)
    {
        Assert.False(string.IsNullOrEmpty(layout));
        foreach (var column in TablePrinters.ColumnDefinitions(resource).Select(c => c!.AsObject()))
        {
            Assert.Equal(["name", "type", "format", "description", "priority"], column.Select(p => p.Key));
            Assert.Contains((string)column["type"]!, new[] { "string", "integer", "date" });
            Assert.False(string.IsNullOrEmpty((string?)column["description"]));
        }
    }

    [Theory]
    [InlineData("pods", "Name")]
    [InlineData("events", "Name")]
    [InlineData("widgets.example.com", "Name")]
    public void ColumnDefinitions_NameColumn_HasNameFormat(string resource, string column)
    {
        var formats = TablePrinters.ColumnDefinitions(resource)
            .Where(c => (string)c!["format"]! == "name")
            .Select(c => (string)c!["name"]!);

        Assert.Equal([column], formats);
    }

    [Theory]
    [InlineData("replicasets.apps", 1, "integer")]
    [InlineData("pods", 3, "string")]
    [InlineData("events", 8, "string")]
    [InlineData("widgets.example.com", 1, "date")]
    public void ColumnDefinitions_ColumnType_MatchesUpstream(string resource, int index, string type) =>
        Assert.Equal(type, (string)TablePrinters.ColumnDefinitions(resource)[index]!["type"]!);

    [Fact]
    public void ColumnDefinitions_EachCall_ReturnsDetachedArray()
    {
        var first = TablePrinters.ColumnDefinitions("pods");
        var second = TablePrinters.ColumnDefinitions("pods");
        var table = new JsonObject { ["columnDefinitions"] = first };

        Assert.NotSame(first, second);
        Assert.Same(table, first.Parent);
        Assert.Null(second.Parent);
    }

    [Theory]
    [InlineData("pods", true)]
    [InlineData("deployments.apps", true)]
    [InlineData("deployments", false)]
    [InlineData("serviceaccounts", false)]
    public void HasPrinter_Resource_ReportsDedicatedPrinter(string resource, bool expected) =>
        Assert.Equal(expected, TablePrinters.HasPrinter(resource));

    [Fact]
    public void Cells_MistypedFields_ReadAsUnset()
    {
        var json = """{"metadata":{"name":5,"creationTimestamp":"not a time"},"spec":{"containers":"nope","nodeName":[]},"status":{"containerStatuses":[1,"x",{"restartCount":"3"}]}}""";

        Assert.Equal(
            new object[] { "", "0/0", "", "0", "<unknown>", "<none>", "<none>", "<none>", "<none>" },
            Row("pods", json));
    }
}
