using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// printNode, findNodeRoles and getNode{Internal,External}IP from pkg/printers/internalversion/printers.go.
internal static class NodePrinter
{
    private const string LabelNodeRolePrefix = "node-role.kubernetes.io/";
    private const string NodeLabelRole = "kubernetes.io/role";

    public static JsonArray Cells(JsonObject node, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(node, "metadata");
        var spec = JsonRead.Obj(node, "spec");
        var status = JsonRead.Obj(node, "status");
        var nodeInfo = JsonRead.Obj(status, "nodeInfo");

        var roles = string.Join(",", Roles(JsonRead.Obj(metadata, "labels")));

        return
        [
            JsonRead.Str(metadata, "name"),
            Status(status, JsonRead.Bool(spec, "unschedulable")),
            roles.Length == 0 ? "<none>" : roles,
            HumanDuration.Since(JsonRead.Time(metadata, "creationTimestamp"), now),
            JsonRead.Str(nodeInfo, "kubeletVersion"),
            Address(status, "InternalIP"),
            Address(status, "ExternalIP"),
            OrUnknown(JsonRead.Str(nodeInfo, "osImage")),
            OrUnknown(JsonRead.Str(nodeInfo, "kernelVersion")),
            OrUnknown(JsonRead.Str(nodeInfo, "containerRuntimeVersion")),
        ];
    }

    private static string Status(JsonObject? status, bool unschedulable)
    {
        // Only the Ready condition is reported; with duplicates the last entry wins (a map upstream).
        string? ready = null;
        foreach (var condition in JsonRead.Objects(JsonRead.Arr(status, "conditions")))
        {
            if (JsonRead.Str(condition, "type") == "Ready")
            {
                ready = JsonRead.Str(condition, "status") == "True" ? "Ready" : "NotReady";
            }
        }

        ready ??= "Unknown";
        return unschedulable ? ready + ",SchedulingDisabled" : ready;
    }

    private static SortedSet<string> Roles(JsonObject? labels)
    {
        var roles = new SortedSet<string>(StringComparer.Ordinal);
        if (labels is null)
        {
            return roles;
        }

        foreach (var (key, value) in labels)
        {
            if (key.StartsWith(LabelNodeRolePrefix, StringComparison.Ordinal))
            {
                var role = key[LabelNodeRolePrefix.Length..];
                if (role.Length > 0)
                {
                    roles.Add(role);
                }
            }
            else if (key == NodeLabelRole && value is JsonValue v && v.TryGetValue(out string? s) && s.Length > 0)
            {
                roles.Add(s);
            }
        }

        return roles;
    }

    private static string Address(JsonObject? status, string type)
    {
        foreach (var address in JsonRead.Objects(JsonRead.Arr(status, "addresses")))
        {
            if (JsonRead.Str(address, "type") == type)
            {
                return JsonRead.Str(address, "address");
            }
        }

        return "<none>";
    }

    private static string OrUnknown(string s) => s.Length == 0 ? "<unknown>" : s;
}
