using System.Runtime.InteropServices;

namespace Berth.Node.Kubelet.Runtime;

// The runtime talks to glibc directly (posix_spawn, ptys, pidfds) with x86_64 struct layouts.
internal static class PlatformGuard
{
    public static void EnsureSupported()
    {
        if (!OperatingSystem.IsLinux()
            || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || RuntimeInformation.RuntimeIdentifier.StartsWith("linux-musl", StringComparison.Ordinal))
        {
            throw new PlatformNotSupportedException(
                $"the node agent runs pod containers as Linux x86_64 (glibc) processes; this is {RuntimeInformation.OSDescription} ({RuntimeInformation.RuntimeIdentifier})");
        }
    }
}
