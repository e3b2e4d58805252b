using Berth.Api.Models;
using Berth.Node.Dns;

namespace Berth.Node.Kubelet.Dns;

/// <summary>
/// A pod's resolv.conf from its dnsPolicy and dnsConfig: a port of the kubelet's DNS configurer
/// (pkg/kubelet/network/dns/dns.go GetPodDNS, getPodDNSType, generateSearchesForDNSClusterFirst, appendDNSConfig,
/// formDNSSearchFitsLimits, formDNSNameserversFitsLimits), with its event reasons and texts.
/// </summary>
/// <param name="ClusterDomain">The cluster domain; empty adds no cluster search domains.</param>
/// <param name="ClusterDns">The cluster DNS addresses; empty when none is known yet (ClusterFirst then falls back to Default).</param>
/// <param name="Host">The host's resolv.conf; null when the agent has none (--resolv-conf ""): then the local resolver.</param>
/// <param name="NodeIsIPv6">Which loopback the local resolver is, without a host resolv.conf.</param>
internal sealed record PodDnsConfigurer(string ClusterDomain, IReadOnlyList<string> ClusterDns, ResolvConf? Host, bool NodeIsIPv6 = false)
{
    // pkg/apis/core/validation MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars; a search path longer
    // than a DNS subdomain makes some resolvers (glibc 2.28) abort, so it is dropped.
    public const int MaxNameservers = 3;
    public const int MaxSearchPaths = 32;
    public const int MaxSearchListChars = 2048;
    private const int MaxSearchPathLength = 253;

    private static readonly string[] s_defaultOptions = ["ndots:5"];

    /// <summary>
    /// The pod's resolv.conf. <paramref name="warn"/> gets (reason, message) of the Warning events upstream
    /// records on the pod: MissingClusterDNS, DNSConfigForming.
    /// </summary>
    public ResolvConf GetPodDns(Pod pod, Action<string, string> warn)
    {
        var servers = Host?.Nameservers ?? [];
        var searches = Host?.Searches ?? [];
        var options = Host?.Options ?? [];
        var type = GetPodDnsType(pod.Spec?.DnsPolicy, pod.Spec?.HostNetwork == true) ?? PodDnsType.Cluster;
        switch (type)
        {
            case PodDnsType.None:
                // DNSNone starts from nothing: only dnsConfig counts.
                (servers, searches, options) = ([], [], []);
                break;
            case PodDnsType.Cluster when ClusterDns.Count > 0:
                // The cluster DNS is the only nameserver: it forwards what it does not answer itself.
                servers = ClusterDns;
                searches = SearchesForClusterFirst(searches, pod.Metadata?.Namespace ?? "");
                options = s_defaultOptions;
                break;
            default:
                if (type == PodDnsType.Cluster)
                {
                    var message = "kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy.";
                    warn("MissingClusterDNS", $"pod: \"{FormatPod(pod)}\". {message}");
                }
                if (Host is null)
                {
                    // No resolv.conf for the node: the resolver "on the local machine", and no search.
                    servers = [NodeIsIPv6 ? "::1" : "127.0.0.1"];
                    searches = ["."];
                }
                break;
        }
        if (pod.Spec?.DnsConfig is { } dnsConfig)
        {
            servers = OmitDuplicates([.. servers, .. dnsConfig.Nameservers ?? []]);
            searches = OmitDuplicates([.. searches, .. dnsConfig.Searches ?? []]);
            options = MergeOptions(options, dnsConfig.Options ?? []);
        }
        return new ResolvConf(NameserversFitLimits(servers, warn), SearchesFitLimits(searches, warn), options);
    }

    /// <summary>getPodDNSType; null for a policy the API should have refused (the caller treats it as ClusterFirst).</summary>
    public static PodDnsType? GetPodDnsType(string? dnsPolicy, bool hostNetwork) => dnsPolicy switch
    {
        "None" => PodDnsType.None,
        "ClusterFirstWithHostNet" => PodDnsType.Cluster,
        // A host-network pod asking for ClusterFirst gets the host's DNS; it must ask for ClusterFirstWithHostNet.
        "ClusterFirst" => hostNetwork ? PodDnsType.Host : PodDnsType.Cluster,
        "Default" => PodDnsType.Host,
        _ => null,
    };

    /// <summary>generateSearchesForDNSClusterFirst: the pod's namespace, svc and the cluster domain before the host's.</summary>
    public IReadOnlyList<string> SearchesForClusterFirst(IReadOnlyList<string> hostSearch, string podNamespace) =>
        ClusterDomain.Length == 0
            ? hostSearch
            : OmitDuplicates([$"{podNamespace}.svc.{ClusterDomain}", $"svc.{ClusterDomain}", ClusterDomain, .. hostSearch]);

    /// <summary>formDNSSearchFitsLimits: at most 32 paths, none over 253 characters, at most 2048 characters in all.</summary>
    public static IReadOnlyList<string> SearchesFitLimits(IReadOnlyList<string> searches, Action<string, string> warn)
    {
        var exceeded = searches.Count > MaxSearchPaths;
        var kept = searches.Take(MaxSearchPaths).ToList();
        exceeded |= kept.RemoveAll(s => s.Length > MaxSearchPathLength) > 0;
        var lineLength = kept.Sum(s => s.Length) + Math.Max(0, kept.Count - 1);
        if (lineLength > MaxSearchListChars)
        {
            // Drop from the end until the line fits.
            while (kept.Count > 0 && lineLength > MaxSearchListChars)
            {
                lineLength -= kept[^1].Length + 1;
                kept.RemoveAt(kept.Count - 1);
            }
            exceeded = true;
        }
        if (exceeded)
        {
            warn("DNSConfigForming", "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: " + string.Join(' ', kept));
        }
        return kept;
    }

    /// <summary>formDNSNameserversFitsLimits: the first 3.</summary>
    public static IReadOnlyList<string> NameserversFitLimits(IReadOnlyList<string> nameservers, Action<string, string> warn)
    {
        if (nameservers.Count <= MaxNameservers)
        {
            return nameservers;
        }
        var kept = nameservers.Take(MaxNameservers).ToList();
        warn("DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: " + string.Join(' ', kept));
        return kept;
    }

    /// <summary>
    /// mergeDNSOptions: an option of dnsConfig replaces one of the same name. Upstream's order is a Go map's;
    /// here the existing options keep their place and new ones follow, so the file is stable between writes.
    /// </summary>
    public static IReadOnlyList<string> MergeOptions(IReadOnlyList<string> existing, IReadOnlyList<PodDNSConfigOption> overrides)
    {
        var names = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        void Set(string name, string value)
        {
            if (values.TryAdd(name, value))
            {
                names.Add(name);
            }
            else
            {
                values[name] = value;
            }
        }
        foreach (var option in existing)
        {
            var colon = option.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                Set(option[..colon], option[(colon + 1)..]);
            }
            else
            {
                Set(option, "");
            }
        }
        foreach (var option in overrides)
        {
            Set(option.Name ?? "", option.Value ?? "");
        }
        return [.. names.Select(n => values[n].Length > 0 ? n + ":" + values[n] : n)];
    }

    private static List<string> OmitDuplicates(IEnumerable<string> values)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. values.Where(seen.Add)];
    }

    // format.Pod: name_namespace(uid).
    private static string FormatPod(Pod pod) => $"{pod.Metadata?.Name}_{pod.Metadata?.Namespace}({pod.Metadata?.Uid})";
}

/// <summary>Upstream podDNSType: where a pod's DNS settings start from.</summary>
internal enum PodDnsType
{
    /// <summary>The cluster DNS, cluster search domains first, ndots:5.</summary>
    Cluster,

    /// <summary>The node's resolv.conf.</summary>
    Host,

    /// <summary>Nothing but the pod's dnsConfig.</summary>
    None,
}
