using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// printService, getServiceExternalIP and makePortString from pkg/printers/internalversion/printers.go.
internal static class ServicePrinter
{
    public static JsonArray Cells(JsonObject service, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(service, "metadata");
        var spec = JsonRead.Obj(service, "spec");

        // The internal ServiceSpec keeps only ClusterIPs; v1 conversion fills it from clusterIP when empty.
        // A headless Service therefore prints "None", as upstream does.
        var clusterIP = JsonRead.Strings(JsonRead.Arr(spec, "clusterIPs")).FirstOrDefault()
            ?? JsonRead.Str(spec, "clusterIP");
        var ports = PortString(JsonRead.Arr(spec, "ports"));

        return
        [
            JsonRead.Str(metadata, "name"),
            JsonRead.Str(spec, "type"),
            clusterIP.Length == 0 ? "<none>" : clusterIP,
            ExternalIP(spec, JsonRead.Obj(service, "status")),
            ports.Length == 0 ? "<none>" : ports,
            HumanDuration.Since(JsonRead.Time(metadata, "creationTimestamp"), now),
            LabelFormat.FormatLabels(JsonRead.Obj(spec, "selector")),
        ];
    }

    private static string ExternalIP(JsonObject? spec, JsonObject? status)
    {
        var externalIPs = JsonRead.Strings(JsonRead.Arr(spec, "externalIPs")).ToList();
        switch (JsonRead.Str(spec, "type"))
        {
            case "ClusterIP":
            case "NodePort":
                return externalIPs.Count > 0 ? string.Join(",", externalIPs) : "<none>";
            case "LoadBalancer":
                // The table is generated wide, so the 16-character clipping of non-wide output never applies.
                var lbIps = LoadBalancerIngress(JsonRead.Obj(status, "loadBalancer"));
                if (externalIPs.Count > 0)
                {
                    return string.Join(",", lbIps.Concat(externalIPs));
                }

                return lbIps.Count > 0 ? string.Join(",", lbIps) : "<pending>";
            case "ExternalName":
                return JsonRead.Str(spec, "externalName");
            default:
                return "<unknown>";
        }
    }

    // loadBalancerStatusStringer: ingress IPs, else hostnames, as a sorted set.
    private static List<string> LoadBalancerIngress(JsonObject? loadBalancer)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var ingress in JsonRead.Objects(JsonRead.Arr(loadBalancer, "ingress")))
        {
            var ip = JsonRead.Str(ingress, "ip");
            var hostname = JsonRead.Str(ingress, "hostname");
            if (ip.Length > 0)
            {
                set.Add(ip);
            }
            else if (hostname.Length > 0)
            {
                set.Add(hostname);
            }
        }

        return [.. set];
    }

    private static string PortString(JsonArray? ports)
    {
        var sb = new StringBuilder();
        foreach (var port in JsonRead.Objects(ports))
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            // Stored Services are defaulted, so protocol is always set upstream; mirror the TCP default.
            var protocol = JsonRead.StrOrNull(port, "protocol") ?? "TCP";
            sb.Append(JsonRead.Int(port, "port").ToString(CultureInfo.InvariantCulture));
            var nodePort = JsonRead.Int(port, "nodePort");
            if (nodePort > 0)
            {
                sb.Append(':').Append(nodePort.ToString(CultureInfo.InvariantCulture));
            }

            sb.Append('/').Append(protocol);
        }

        return sb.ToString();
    }
}
