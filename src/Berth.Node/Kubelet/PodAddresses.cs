using System.Net;
using System.Net.Sockets;

namespace Berth.Node.Kubelet;

/// <summary>
/// Pod IPs from this node's pod CIDR (spec.podCIDR), host-local style: one file per address in the state
/// directory, named by the address and holding the pod's uid, so a restarted agent gives a pod the address it
/// had. The files are read once, at start; after that the map in memory is the index and the files the record.
/// Loopback mode needs no interface setup: Linux routes all of 127.0.0.0/8 to lo.
/// </summary>
public sealed class PodAddresses
{
    private readonly string _directory;
    private readonly uint _network;
    private readonly int _size;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _byUid = new(StringComparer.Ordinal);

    public PodAddresses(string directory, string podCidr)
    {
        _directory = directory;
        var (network, prefix) = ParseCidr(podCidr);
        _network = network;
        _size = 1 << (32 - prefix);
        Cidr = podCidr;
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            _byUid[File.ReadAllText(file)] = Path.GetFileName(file);
        }
    }

    public string Cidr { get; }

    /// <summary>The address of pod <paramref name="uid"/>: the one it already holds, else the lowest free one.</summary>
    /// <exception cref="InvalidOperationException">The CIDR is full.</exception>
    public string Acquire(string uid)
    {
        lock (_lock)
        {
            if (_byUid.TryGetValue(uid, out var held))
            {
                return held;
            }
            // .0 is the network and the last address the broadcast address of the range: neither is handed out.
            var taken = _byUid.Values.ToHashSet(StringComparer.Ordinal);
            for (var i = 1; i < _size - 1; i++)
            {
                var ip = Format(_network + (uint)i);
                if (taken.Contains(ip))
                {
                    continue;
                }
                try
                {
                    using var file = new FileStream(Path.Combine(_directory, ip), FileMode.CreateNew, FileAccess.Write);
                    file.Write(System.Text.Encoding.UTF8.GetBytes(uid));
                    _byUid[uid] = ip;
                    return ip;
                }
                catch (IOException) when (File.Exists(Path.Combine(_directory, ip)))
                {
                    // Taken; try the next one.
                }
            }
            throw new InvalidOperationException($"no pod IP left in {Cidr}: every address is held by a pod on this node");
        }
    }

    /// <summary>Gives the address of pod <paramref name="uid"/> back, if it holds one.</summary>
    public void Release(string uid)
    {
        lock (_lock)
        {
            if (_byUid.Remove(uid, out var ip))
            {
                File.Delete(Path.Combine(_directory, ip));
            }
        }
    }

    /// <summary>Releases every address whose pod is not in <paramref name="liveUids"/> (pods deleted while the agent was down).</summary>
    public void ReleaseAllExcept(IReadOnlySet<string> liveUids)
    {
        lock (_lock)
        {
            foreach (var (uid, ip) in _byUid.Where(e => !liveUids.Contains(e.Key)).ToList())
            {
                _byUid.Remove(uid);
                File.Delete(Path.Combine(_directory, ip));
            }
        }
    }

    private static (uint Network, int Prefix) ParseCidr(string cidr)
    {
        var slash = cidr.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(cidr.AsSpan(0, slash), out var ip) || cidr.AsSpan(0, slash).Count('.') != 3 || ip.AddressFamily != AddressFamily.InterNetwork
            || !int.TryParse(cidr.AsSpan(slash + 1), out var prefix) || prefix is < 8 or > 30)
        {
            throw new ArgumentException($"pod CIDR \"{cidr}\" is not an IPv4 CIDR between /8 and /30", nameof(cidr));
        }
        var bytes = ip.GetAddressBytes();
        var value = (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        return (value & mask, prefix);
    }

    private static string Format(uint value) => $"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}";
}
