namespace Berth.Node.Dns;

/// <summary>
/// A resolv.conf read the way the kubelet reads the host's (pkg/kubelet/network/dns/dns.go parseResolvConf):
/// nameserver, search (the last search/domain line wins), options; comments (# and ;) ignored.
/// </summary>
public sealed record ResolvConf(IReadOnlyList<string> Nameservers, IReadOnlyList<string> Searches, IReadOnlyList<string> Options)
{
    public static readonly ResolvConf Empty = new([], [], []);

    public static ResolvConf Parse(string text) => throw new NotImplementedException();

    /// <summary>Reads the file; a missing file is <see cref="Empty"/>.</summary>
    public static ResolvConf Read(string path) => throw new NotImplementedException();

    /// <summary>The file's text, as the kubelet writes a pod's resolv.conf.</summary>
    public string Format() => throw new NotImplementedException();
}
