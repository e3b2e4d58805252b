using System.Runtime.InteropServices;
using Berth.Api.Models;

namespace Berth.Node.Kubelet;

/// <summary>What the Node object says about this machine: capacity, system info, labels (upstream kubelet_node_status.go).</summary>
internal static class NodeInfo
{
    public const string KubeletVersion = "v1.32.0-berth";
    public const int MaxPods = 110;

    public static Api.Models.Node Describe(string name, string nodeIP, int kubeletPort)
    {
        var capacity = Capacity();
        return new Api.Models.Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new ObjectMeta
            {
                Name = name,
                Labels = new Dictionary<string, string>
                {
                    ["beta.kubernetes.io/arch"] = Architecture,
                    ["beta.kubernetes.io/os"] = "linux",
                    ["kubernetes.io/arch"] = Architecture,
                    ["kubernetes.io/hostname"] = name,
                    ["kubernetes.io/os"] = "linux",
                },
                Annotations = new Dictionary<string, string>
                {
                    ["node.alpha.kubernetes.io/ttl"] = "0",
                    ["volumes.kubernetes.io/controller-managed-attach-detach"] = "true",
                },
            },
            Spec = new NodeSpec(),
            Status = new NodeStatus
            {
                Capacity = capacity,
                Allocatable = new Dictionary<string, string>(capacity),
                Addresses =
                [
                    new NodeAddress { Type = "InternalIP", Address = nodeIP },
                    new NodeAddress { Type = "Hostname", Address = name },
                ],
                DaemonEndpoints = new NodeDaemonEndpoints { KubeletEndpoint = new DaemonEndpoint { Port = kubeletPort } },
                NodeInfo = new NodeSystemInfo
                {
                    MachineID = ReadTrimmed("/etc/machine-id"),
                    SystemUUID = ReadTrimmed("/sys/class/dmi/id/product_uuid"),
                    BootID = ReadTrimmed("/proc/sys/kernel/random/boot_id"),
                    KernelVersion = ReadTrimmed("/proc/sys/kernel/osrelease"),
                    OsImage = OsImage(),
                    ContainerRuntimeVersion = "berth://" + (typeof(NodeInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"),
                    KubeletVersion = KubeletVersion,
                    KubeProxyVersion = "",
                    OperatingSystem = "linux",
                    Architecture = Architecture,
                },
            },
        };
    }

    /// <summary>The four node conditions the kubelet reports, all healthy while it runs.</summary>
    public static List<NodeCondition> Conditions(DateTimeOffset now, IReadOnlyList<NodeCondition>? previous)
    {
        NodeCondition Make(string type, string status, string reason, string message)
        {
            var old = previous?.FirstOrDefault(c => c.Type == type);
            return new NodeCondition
            {
                Type = type,
                Status = status,
                Reason = reason,
                Message = message,
                LastHeartbeatTime = now,
                LastTransitionTime = old?.Status == status ? old.LastTransitionTime ?? now : now,
            };
        }
        return
        [
            Make("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            Make("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            Make("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            Make("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ];
    }

    public static Dictionary<string, string> Capacity()
    {
        var capacity = new Dictionary<string, string>
        {
            ["cpu"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["pods"] = MaxPods.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (MemTotalKi() is { } mem)
        {
            capacity["memory"] = $"{mem}Ki";
        }
        try
        {
            var drive = new DriveInfo("/");
            capacity["ephemeral-storage"] = $"{drive.TotalSize / 1024}Ki";
        }
        catch (IOException)
        {
            // No size for the root file system: leave it out rather than guess.
        }
        return capacity;
    }

    private static string Architecture => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        var other => other.ToString().ToLowerInvariant(),
    };

    private static long? MemTotalKi()
    {
        foreach (var line in ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var digits = new string([.. line.Where(char.IsAsciiDigit)]);
                return long.TryParse(digits, out var kb) ? kb : null;
            }
        }
        return null;
    }

    private static string OsImage()
    {
        foreach (var line in ReadLines("/etc/os-release"))
        {
            if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
            {
                return line["PRETTY_NAME=".Length..].Trim('"');
            }
        }
        return RuntimeInformation.OSDescription;
    }

    private static IEnumerable<string> ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string ReadTrimmed(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
