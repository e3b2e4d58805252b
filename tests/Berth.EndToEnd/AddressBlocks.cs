using System.Globalization;
using System.Net;

namespace Berth.EndToEnd;

/// <summary>
/// Every node agent runs a service proxy that listens on its cluster's ClusterIPs and load-balancer addresses, so
/// servers running side by side each need their own, and so do their pods (every server names its node after the host,
/// so with one cluster CIDR their pods would get the same IPs): block B is a /20 for ClusterIPs and the next /20 for
/// load balancers in 127.20.0.0–127.79.255.255, and a /19 cluster CIDR (32 nodes) in 127.160.0.0–127.219.255.255;
/// 480 blocks, clear of the defaults 127.96, 127.100 and 127.244 and of node addresses in 127.0. A block is handed
/// out again only once the data dir of the server that had it is gone: a fixture's server lives as long as its test
/// class while others start and stop beside it, and a block reused under a live server made both proxies bind the
/// same ClusterIPs (a ProxyListening condition flipped under a test that compared resourceVersions).
/// </summary>
public static class AddressBlocks
{
    public const int Count = 480;

    private const string FileName = "e2e-address-block";

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<int, string> s_holders = [];
    private static int s_next = Random.Shared.Next(0, Count);

    /// <summary>The block of the server on <paramref name="dataDir"/>: kept in the dir, so a restart keeps its addresses.</summary>
    public static int For(string dataDir)
    {
        var file = Path.Combine(dataDir, FileName);
        lock (s_lock)
        {
            if (File.Exists(file))
            {
                var kept = int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);
                s_holders[kept] = dataDir;
                return kept;
            }
            foreach (var (block, holder) in s_holders.Where(h => !Directory.Exists(h.Value)).ToList())
            {
                s_holders.Remove(block);
            }
            if (s_holders.Count >= Count)
            {
                throw new InvalidOperationException($"all {Count} end-to-end address blocks are held by live data dirs");
            }
            var next = s_next;
            while (s_holders.ContainsKey(next % Count))
            {
                next++;
            }
            s_next = next + 1;
            var chosen = next % Count;
            s_holders[chosen] = dataDir;
            File.WriteAllText(file, chosen.ToString(CultureInfo.InvariantCulture));
            return chosen;
        }
    }

    public static string ServiceCidr(int block) => $"{Base(block)}/20";

    public static string LoadBalancerPool(int block) => $"{Base(block, offset: 16)}/20";

    /// <summary>
    /// An externalIP for this block alone. Upstream validation refuses loopback externalIPs, so it is a documentation
    /// address (TEST-NET-2, then TEST-NET-3; never routed) that the proxy binds with IP_FREEBIND; tests never send
    /// traffic to it outside a network namespace of their own.
    /// </summary>
    public static IPAddress ExternalIP(int block) =>
        IPAddress.Parse(block < 256 ? $"198.51.100.{block}" : $"203.0.113.{block - 256}");

    public static string ClusterCidr(int block) => $"{Base(block, first: 160)}/19";

    private static string Base(int block, int offset = 0, int first = 20) =>
        $"127.{first + (block / 8)}.{(block % 8 * 32) + offset}.0";
}
