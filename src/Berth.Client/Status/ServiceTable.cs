using System.Net;
using System.Text;
using Berth.Api.Models;

namespace Berth.Client.ClusterStatus;

/// <summary>One row of the table <c>berth up</c> prints: each cell without spaces, <c>-</c> when empty.</summary>
public sealed record ServiceRow(string Service, string Type, string ClusterIP, string NodePort, string LoadBalancer, string Dns);

/// <summary>
/// Where every Service answers: its ClusterIP, NodePort and load-balancer URLs per port and its DNS name. Pure: the
/// Services, the addresses NodePorts listen on and the cluster domain in, rows out.
/// </summary>
public static class ServiceTable
{
    private static readonly string[] s_header = ["SERVICE", "TYPE", "CLUSTER-IP", "NODEPORT", "LOADBALANCER", "DNS"];

    /// <summary>One row per Service, sorted by namespace/name.</summary>
    public static IReadOnlyList<ServiceRow> Rows(IEnumerable<Service> services, IReadOnlyList<string> nodeAddresses, string clusterDomain)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(nodeAddresses);
        return [.. services
            .OrderBy(s => s.Metadata?.Namespace ?? "default", StringComparer.Ordinal)
            .ThenBy(s => s.Metadata?.Name, StringComparer.Ordinal)
            .Select(s => Row(s, nodeAddresses, clusterDomain))];
    }

    public static ServiceRow Row(Service service, IReadOnlyList<string> nodeAddresses, string clusterDomain)
    {
        ArgumentNullException.ThrowIfNull(service);
        var ns = service.Metadata?.Namespace ?? "default";
        var name = service.Metadata?.Name ?? "";
        var spec = service.Spec ?? new ServiceSpec();
        var ports = spec.Ports ?? [];
        var dns = $"{name}.{ns}.svc.{clusterDomain}";
        if (spec.Type == "ExternalName")
        {
            return new ServiceRow($"{ns}/{name}", "ExternalName", "-", "-", "-", $"{dns}->{spec.ExternalName}");
        }
        var headless = spec.ClusterIP == "None";
        var clusterIPs = headless ? [] : spec.ClusterIPs is { Count: > 0 } ips ? ips : spec.ClusterIP is { Length: > 0 } ip ? [ip] : [];
        var clusterUrls = clusterIPs.SelectMany(a => ports.Where(p => p.Port is not null).Select(p => Url(p, a, p.Port!.Value)));
        var nodeUrls = spec.Type is "NodePort" or "LoadBalancer"
            ? ports.Where(p => p.NodePort is > 0).SelectMany(p => nodeAddresses.Select(a => Url(p, a, p.NodePort!.Value)))
            : [];
        var lbUrls = spec.Type == "LoadBalancer"
            ? (service.Status?.LoadBalancer?.Ingress ?? [])
                .Select(i => i.Ip is { Length: > 0 } ip ? ip : i.Hostname)
                .Where(a => a is { Length: > 0 })
                .SelectMany(a => ports.Where(p => p.Port is not null).Select(p => Url(p, a!, p.Port!.Value)))
            : [];
        var type = headless ? "Headless" : spec.Type is { Length: > 0 } t ? t : "ClusterIP";
        return new ServiceRow($"{ns}/{name}", type, Cell(clusterUrls), Cell(nodeUrls), Cell(lbUrls), dns);
    }

    /// <summary>
    /// The URL scheme of a Service port: UDP and SCTP by protocol; then appProtocol or the port name saying http or
    /// https (also as an <c>http-</c>/<c>https-</c> prefix, Istio's naming convention); then the well-known port numbers
    /// (80, 8080, 8000 http; 443, 8443 https); else tcp.
    /// </summary>
    public static string Scheme(ServicePort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        switch (port.Protocol)
        {
            case "UDP":
                return "udp";
            case "SCTP":
                return "sctp";
        }
        foreach (var hint in new[] { port.AppProtocol, port.Name })
        {
            var h = hint?.ToLowerInvariant();
            if (h is "https" || h?.StartsWith("https-", StringComparison.Ordinal) == true)
            {
                return "https";
            }
            if (h is "http" or "kubernetes.io/h2c" || h?.StartsWith("http-", StringComparison.Ordinal) == true)
            {
                return "http";
            }
        }
        return port.Port switch
        {
            80 or 8080 or 8000 => "http",
            443 or 8443 => "https",
            _ => "tcp",
        };
    }

    /// <summary>The table as printed: columns padded to their widest cell plus two spaces, one line per row.</summary>
    public static string Render(IReadOnlyList<ServiceRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var cells = new List<string[]> { s_header };
        cells.AddRange(rows.Select(r => new[] { r.Service, r.Type, r.ClusterIP, r.NodePort, r.LoadBalancer, r.Dns }));
        var widths = Enumerable.Range(0, s_header.Length).Select(c => cells.Max(line => line[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var line in cells)
        {
            for (var c = 0; c < line.Length; c++)
            {
                text.Append(c == line.Length - 1 ? line[c] : line[c].PadRight(widths[c] + 2));
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    private static string Url(ServicePort port, string address, int number) =>
        $"{Scheme(port)}://{(IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address)}:{number}";

    private static string Cell(IEnumerable<string> urls)
    {
        var joined = string.Join(',', urls);
        return joined.Length == 0 ? "-" : joined;
    }
}
