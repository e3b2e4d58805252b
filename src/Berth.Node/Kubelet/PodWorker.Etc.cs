using Berth.Node.Dns;
using Berth.Node.Kubelet.Dns;
using Berth.Node.Kubelet.Runtime;

namespace Berth.Node.Kubelet;

/// <summary>
/// The pod's own /etc/resolv.conf and /etc/hosts (upstream: the sandbox's DNS config and the etc-hosts mount):
/// written under the agent's data dir and bind-mounted in the pod's private mount namespace, in which every
/// process of the pod starts. Rewritten whenever they change, e.g. once kube-dns has a ClusterIP.
/// </summary>
internal sealed partial class PodWorker
{
    private const string NodeHostsFile = "/etc/hosts";

    private PodEtcFiles? _etcFiles;
    private volatile PodNamespace? _mountNamespace;
    private bool _mountNamespaceTried;
    private string? _resolvConfWritten;
    private string? _hostsWritten;
    private string? _etcError;

    /// <summary>The pod's mount namespace (null: the pod runs in the host's), for exec.</summary>
    public PodNamespace? MountNamespace => _mountNamespace;

    /// <summary>
    /// Brings the pod's files up to date and, the first time, makes its mount namespace. Without namespaces
    /// (not root, not Linux, refused) the pod runs with the host's files, and the agent says so once.
    /// </summary>
    private void SyncEtcFiles()
    {
        if (PodNamespace.Unavailable is { } why)
        {
            NoPrivateNamespace(why);
            return;
        }
        try
        {
            WriteEtcFiles();
            _etcError = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The pod still runs (with the host's files if it has no namespace yet); said once per new failure.
            if (_etcError != e.Message)
            {
                _etcError = e.Message;
                _ctx.Log($"pod {Namespace}/{Name}: cannot write its resolv.conf and hosts: {e.Message}");
            }
            return;
        }

        if (!_mountNamespaceTried)
        {
            _mountNamespaceTried = true;
            try
            {
                _mountNamespace = PodNamespace.Create([(_etcFiles!.ResolvConf, "/etc/resolv.conf"), (_etcFiles.Hosts, NodeHostsFile)]);
            }
            catch (PodNamespaceException e)
            {
                NoPrivateNamespace(e.Message);
            }
        }
    }

    private void WriteEtcFiles()
    {
        _etcFiles ??= new PodEtcFiles(_ctx.LogRoot, Uid);
        var resolvConf = _ctx.Dns.HostResolvConf.Length == 0 ? null : ResolvConf.Read(_ctx.Dns.HostResolvConf);
        var configurer = new PodDnsConfigurer(_ctx.Dns.ClusterDomain, ClusterDnsAddresses(), resolvConf, _ctx.NodeIP.Contains(':', StringComparison.Ordinal));
        var events = new List<(string Reason, string Message)>();
        var resolv = configurer.GetPodDns(_pod, (reason, message) => events.Add((reason, message))).Format();
        if (resolv != _resolvConfWritten)
        {
            _etcFiles.Write(_etcFiles.ResolvConf, resolv);
            _resolvConfWritten = resolv;
            // Said when the file changes, not on every pass: upstream says it once per sandbox.
            foreach (var (reason, message) in events)
            {
                _ctx.Events.Record(_pod, "Warning", reason, message);
            }
        }

        if (!PodHostsFile.TryHostNameAndDomain(_pod, _ctx.Dns.ClusterDomain, out var hostName, out var hostDomain, out var nameError))
        {
            // The API does not check spec.hostname/subdomain yet; the pod keeps its name, without a domain.
            hostName = Name;
            hostDomain = "";
            if (_hostsWritten is null)
            {
                _ctx.Log($"pod {Namespace}/{Name}: {nameError}");
            }
        }
        var hosts = PodHostsFile.Content(_pod, [_podIP!], hostName, hostDomain, ReadNodeHosts);
        if (hosts != _hostsWritten)
        {
            _etcFiles.Write(_etcFiles.Hosts, hosts);
            _hostsWritten = hosts;
        }
    }

    /// <summary>The pod's host name (spec.hostname, else its name cut to 63 characters), as in its /etc/hosts.</summary>
    private string HostName() =>
        PodHostsFile.TryHostNameAndDomain(_pod, _ctx.Dns.ClusterDomain, out var hostName, out _, out _) ? hostName : Name;

    /// <summary>The cluster DNS: --cluster-dns, else the ClusterIP of kube-system/kube-dns; none until it has one.</summary>
    private IReadOnlyList<string> ClusterDnsAddresses()
    {
        if (_ctx.Dns.ClusterDnsIP is { } ip)
        {
            return [ip.ToString()];
        }
        var kubeDns = _ctx.Services().FirstOrDefault(s => s.Metadata?.Namespace == "kube-system" && s.Metadata.Name == "kube-dns");
        return kubeDns?.Spec?.ClusterIP is { Length: > 0 } clusterIP && clusterIP != "None" ? [clusterIP] : [];
    }

    private static string ReadNodeHosts()
    {
        try
        {
            return File.ReadAllText(NodeHostsFile);
        }
        catch (IOException)
        {
            return "";
        }
    }

    private void NoPrivateNamespace(string why)
    {
        if (_ctx.PodNamespaceNotice.First())
        {
            _ctx.Log(
                $"agent: pods use the host's /etc/resolv.conf and /etc/hosts: private mount namespaces need root on Linux and CAP_SYS_ADMIN (here: {why}); " +
                "to reach a Service from a pod use its environment variables (<SVC>_SERVICE_HOST, <SVC>_SERVICE_PORT) " +
                "or ask the cluster DNS directly (its address is the ClusterIP of kube-system/kube-dns)");
        }
    }

    /// <summary>The worker has ended: the namespace goes with the pod's last process, the files with the pod.</summary>
    private void ReleaseEtcFiles()
    {
        _mountNamespace?.Dispose();
        _etcFiles?.Delete();
    }
}
