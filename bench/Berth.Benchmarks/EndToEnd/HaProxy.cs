using System.Globalization;
using System.Net;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// HAProxy in TCP mode in front of the one nginx: the peer a user would otherwise put in front of a pod. Started in the
/// foreground (<c>-db</c>) with a config written to the run's temp dir.
/// </summary>
internal static class HaProxy
{
    public const string Program = "haproxy";

    /// <summary>
    /// Plain TCP mode, as many threads as Berth's proxy has workers, no logging, timeouts long enough never to cut a
    /// run's connection, and no SO_REUSEPORT (HAProxy's default on Linux lets a second HAProxy bind the same address and
    /// take half its connections; Berth's proxy refuses to share, and so must the peer it is measured against). With <paramref name="splice"/>, <c>option splice-auto</c>: HAProxy moves data with splice(2)
    /// when its buffers fill, as Berth does past its splice threshold (HAProxy's default is off).
    /// </summary>
    public static string Config(IPEndPoint listen, IPEndPoint server, int threads, bool splice) => string.Create(CultureInfo.InvariantCulture, $"""
        global
            nbthread {threads}
            maxconn 4096
            noreuseport
        defaults
            mode tcp
            timeout connect 2s
            timeout client 120s
            timeout server 120s
        {(splice ? "    option splice-auto\n" : "")}frontend bench
            bind {listen}
            default_backend nginx
        backend nginx
            server nginx {server}

        """);

    public static async Task<ToolProcess> StartAsync(string dir, IPEndPoint listen, IPEndPoint server, int threads, bool splice, CancellationToken ct)
    {
        var config = Path.Combine(dir, "haproxy.cfg");
        await File.WriteAllTextAsync(config, Config(listen, server, threads, splice), ct).ConfigureAwait(false);
        var haproxy = ToolProcess.Start(Program, ["-f", config, "-db"], dir);
        try
        {
            await haproxy.WaitForListenerAsync(listen, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        }
        catch
        {
            await haproxy.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return haproxy;
    }
}
