using System.Globalization;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// printEndpoints (formatEndpoints) and printEndpointSlice (formatDiscoveryPorts,
/// formatDiscoveryEndpoints, listWithMoreString) from pkg/printers/internalversion/printers.go.
internal static class EndpointsPrinters
{
    private const int MaxListed = 3;

    public static JsonArray Endpoints(JsonObject endpoints, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(endpoints, "metadata");
        return
        [
            JsonRead.Str(metadata, "name"),
            FormatEndpoints(JsonRead.Arr(endpoints, "subsets")),
            HumanDuration.Since(JsonRead.Time(metadata, "creationTimestamp"), now),
        ];
    }

    public static JsonArray EndpointSlice(JsonObject slice, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(slice, "metadata");
        return
        [
            JsonRead.Str(metadata, "name"),
            JsonRead.Str(slice, "addressType"),
            FormatDiscoveryPorts(JsonRead.Arr(slice, "ports")),
            FormatDiscoveryEndpoints(JsonRead.Arr(slice, "endpoints")),
            HumanDuration.Since(JsonRead.Time(metadata, "creationTimestamp"), now),
        ];
    }

    internal static string FormatEndpoints(JsonArray? subsets)
    {
        if (subsets is null || subsets.Count == 0)
        {
            return "<none>";
        }

        var list = new List<string>(MaxListed);
        bool more = false;
        int count = 0;
        foreach (var subset in JsonRead.Objects(subsets))
        {
            var addresses = JsonRead.Objects(JsonRead.Arr(subset, "addresses")).ToList();
            var ports = JsonRead.Arr(subset, "ports");
            if (ports is null || ports.Count == 0)
            {
                // Headless services may have no ports: list bare IPs.
                count += addresses.Count;
                foreach (var address in addresses)
                {
                    if (list.Count == MaxListed)
                    {
                        more = true;
                        break;
                    }

                    list.Add(JsonRead.Str(address, "ip"));
                }

                continue;
            }

            foreach (var port in JsonRead.Objects(ports))
            {
                count += addresses.Count;
                var portText = JsonRead.Int(port, "port").ToString(CultureInfo.InvariantCulture);
                foreach (var address in addresses)
                {
                    if (list.Count == MaxListed)
                    {
                        more = true;
                        break;
                    }

                    list.Add(JoinHostPort(JsonRead.Str(address, "ip"), portText));
                }
            }
        }

        var joined = string.Join(",", list);
        return more ? joined + " + " + (count - MaxListed).ToString(CultureInfo.InvariantCulture) + " more..." : joined;
    }

    internal static string FormatDiscoveryPorts(JsonArray? ports)
    {
        var list = new List<string>(MaxListed);
        bool more = false;
        int count = 0;
        foreach (var port in JsonRead.Objects(ports))
        {
            if (list.Count < MaxListed)
            {
                var text = JsonRead.IntOrNull(port, "port") is { } p
                    ? p.ToString(CultureInfo.InvariantCulture)
                    : JsonRead.StrOrNull(port, "name") ?? "*";
                list.Add(text);
            }
            else if (list.Count == MaxListed)
            {
                more = true;
            }

            count++;
        }

        return ListWithMore(list, more, count);
    }

    internal static string FormatDiscoveryEndpoints(JsonArray? endpoints)
    {
        var list = new List<string>(MaxListed);
        bool more = false;
        int count = 0;
        foreach (var endpoint in JsonRead.Objects(endpoints))
        {
            foreach (var address in JsonRead.Strings(JsonRead.Arr(endpoint, "addresses")))
            {
                if (list.Count < MaxListed)
                {
                    list.Add(address);
                }
                else if (list.Count == MaxListed)
                {
                    more = true;
                }

                count++;
            }
        }

        return ListWithMore(list, more, count);
    }

    private static string ListWithMore(List<string> list, bool more, int count)
    {
        var joined = string.Join(",", list);
        if (more)
        {
            return joined + " + " + (count - MaxListed).ToString(CultureInfo.InvariantCulture) + " more...";
        }

        return joined.Length == 0 ? "<unset>" : joined;
    }

    // net.JoinHostPort: brackets hosts containing a colon (IPv6).
    private static string JoinHostPort(string host, string port) =>
        host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]:" + port : host + ":" + port;
}
