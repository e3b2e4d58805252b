using System.Text;
using Berth.Api.Models;
using Berth.Api.Validation;

namespace Berth.Node.Kubelet.Dns;

/// <summary>
/// A pod's /etc/hosts, as the kubelet writes it (pkg/kubelet/kubelet_pods.go managedHostsFileContent,
/// nodeHostsFileContent, hostsEntriesFromHostAliases, GeneratePodHostNameAndDomain).
/// </summary>
internal static class PodHostsFile
{
    private const string ManagedHeader = "# Kubernetes-managed hosts file.\n";
    private const string ManagedHeaderWithHostNetwork = "# Kubernetes-managed hosts file (host network).\n";

    // Upstream caps the hostname at 63 characters (64 bytes with the terminating NUL).
    private const int HostnameMaxLength = 63;

    /// <summary>
    /// The file's content: a host-network pod gets the node's hosts file, others the managed boilerplate with
    /// their own name; both end with the pod's hostAliases.
    /// </summary>
    public static string Content(Pod pod, IReadOnlyList<string> podIPs, string hostName, string hostDomain, Func<string> nodeHosts) =>
        pod.Spec?.HostNetwork == true
            ? NodeContent(nodeHosts(), pod.Spec.HostAliases)
            : ManagedContent(podIPs, hostName, hostDomain, pod.Spec?.HostAliases);

    /// <summary>managedHostsFileContent.</summary>
    public static string ManagedContent(IReadOnlyList<string> hostIPs, string hostName, string hostDomain, IReadOnlyList<HostAlias>? hostAliases)
    {
        var text = new StringBuilder(ManagedHeader)
            .Append("127.0.0.1\tlocalhost\n")
            .Append("::1\tlocalhost ip6-localhost ip6-loopback\n")
            .Append("fe00::0\tip6-localnet\n")
            .Append("fe00::0\tip6-mcastprefix\n")
            .Append("fe00::1\tip6-allnodes\n")
            .Append("fe00::2\tip6-allrouters\n");
        foreach (var ip in hostIPs)
        {
            text.Append(hostDomain.Length > 0 ? $"{ip}\t{hostName}.{hostDomain}\t{hostName}\n" : $"{ip}\t{hostName}\n");
        }
        return text.Append(EntriesFromHostAliases(hostAliases)).ToString();
    }

    /// <summary>nodeHostsFileContent: the node's file under a header of its own, then the aliases.</summary>
    public static string NodeContent(string nodeHosts, IReadOnlyList<HostAlias>? hostAliases) =>
        ManagedHeaderWithHostNetwork + nodeHosts + EntriesFromHostAliases(hostAliases);

    /// <summary>hostsEntriesFromHostAliases: one line per alias, its hostnames tab-separated.</summary>
    public static string EntriesFromHostAliases(IReadOnlyList<HostAlias>? hostAliases)
    {
        if (hostAliases is not { Count: > 0 })
        {
            return "";
        }
        var text = new StringBuilder("\n# Entries added by HostAliases.\n");
        foreach (var alias in hostAliases)
        {
            text.Append(alias.Ip).Append('\t').AppendJoin('\t', alias.Hostnames ?? []).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// GeneratePodHostNameAndDomain: the hostname is spec.hostname or the pod's name (cut to 63 characters
    /// without a trailing '-' or '.'), the domain <c>&lt;subdomain&gt;.&lt;namespace&gt;.svc.&lt;cluster domain&gt;</c>
    /// when spec.subdomain is set. False with upstream's error text when either is not a DNS label.
    /// </summary>
    public static bool TryHostNameAndDomain(Pod pod, string clusterDomain, out string hostName, out string hostDomain, out string error)
    {
        hostName = pod.Metadata?.Name ?? "";
        hostDomain = "";
        error = "";
        if (pod.Spec?.Hostname is { Length: > 0 } specHostname)
        {
            if (NameValidation.IsDns1123Label(specHostname) is { Count: > 0 } messages)
            {
                error = $"pod Hostname \"{specHostname}\" is not a valid DNS label: {string.Join(';', messages)}";
                return false;
            }
            hostName = specHostname;
        }
        if (hostName.Length > HostnameMaxLength)
        {
            var truncated = hostName[..HostnameMaxLength].TrimEnd('-', '.');
            if (truncated.Length == 0)
            {
                error = $"hostname for pod \"{pod.Metadata?.Name}\" was invalid: \"{hostName}\"";
                return false;
            }
            hostName = truncated;
        }
        if (pod.Spec?.Subdomain is { Length: > 0 } subdomain)
        {
            if (NameValidation.IsDns1123Label(subdomain) is { Count: > 0 } messages)
            {
                error = $"pod Subdomain \"{subdomain}\" is not a valid DNS label: {string.Join(';', messages)}";
                return false;
            }
            hostDomain = $"{subdomain}.{pod.Metadata?.Namespace}.svc.{clusterDomain}";
        }
        return true;
    }
}
