using System.Text;

namespace Berth.Node.Dns;

/// <summary>
/// A resolv.conf read the way the kubelet reads the host's (pkg/kubelet/network/dns/dns.go parseResolvConf):
/// nameserver, search (the last search/domain line wins), options; comments (# and ;) ignored.
/// </summary>
public sealed record ResolvConf(IReadOnlyList<string> Nameservers, IReadOnlyList<string> Searches, IReadOnlyList<string> Options)
{
    public static readonly ResolvConf Empty = new([], [], []);

    // The kubelet reads at most this much of the file (maxResolveConfLength).
    private const int MaxLength = 10 << 20;

    /// <summary>
    /// Nameserver lines accumulate; the last search line wins, as does the last options line. A nameserver line
    /// without an address is skipped (upstream reports it as an error after parsing the rest). A search domain's
    /// trailing dot is dropped so "a." and "a" count once against the search limits, as upstream does. A
    /// "domain" line is a one-entry search list, as glibc reads it.
    /// </summary>
    public static ResolvConf Parse(string text)
    {
        var nameservers = new List<string>();
        IReadOnlyList<string> searches = [];
        IReadOnlyList<string> options = [];
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith('#') || trimmed.StartsWith(';'))
            {
                continue;
            }
            var fields = trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0)
            {
                continue;
            }
            switch (fields[0])
            {
                case "nameserver" when fields.Length >= 2:
                    nameservers.Add(fields[1]);
                    break;
                case "search" or "domain":
                    var list = fields.Skip(1).Select(s => s.EndsWith('.') ? s[..^1] : s).Where(s => s.Length > 0);
                    searches = [.. fields[0] == "domain" ? list.Take(1) : list];
                    break;
                case "options":
                    options = fields[1..];
                    break;
            }
        }
        return new ResolvConf(nameservers, searches, options);
    }

    /// <summary>Reads the file; a missing file is <see cref="Empty"/>.</summary>
    public static ResolvConf Read(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var text = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while (text.Length < MaxLength && (read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, MaxLength - text.Length))) > 0)
            {
                text.Write(buffer, 0, read);
            }
            return Parse(Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Empty;
        }
    }

    /// <summary>
    /// The file's text, as the kubelet writes a pod's resolv.conf (through the runtime: containerd's
    /// parseDNSOptions): the search line, one line per nameserver, the options line; empty parts left out.
    /// </summary>
    public string Format()
    {
        var text = new StringBuilder();
        if (Searches.Count > 0)
        {
            text.Append("search ").AppendJoin(' ', Searches).Append('\n');
        }
        foreach (var nameserver in Nameservers)
        {
            text.Append("nameserver ").Append(nameserver).Append('\n');
        }
        if (Options.Count > 0)
        {
            text.Append("options ").AppendJoin(' ', Options).Append('\n');
        }
        return text.ToString();
    }
}
