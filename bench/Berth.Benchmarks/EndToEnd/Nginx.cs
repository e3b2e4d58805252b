using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// The one nginx every target of the proxy bench reaches: Debian's /usr/sbin/nginx, one worker, no access log,
/// serving Debian's default page (615 bytes) at / and a file of random bytes at /bulk.
/// </summary>
internal static class Nginx
{
    public const string Program = "/usr/sbin/nginx";

    /// <summary>Where <see cref="Config"/> puts the listen address, for a pod that only knows it at start ($POD_IP).</summary>
    public const string ListenPlaceholder = "@LISTEN@";

    /// <summary>/var/www/html/index.nginx-debian.html of Debian's nginx-common 1.22, byte for byte.</summary>
    public const string DefaultPage = """
        <!DOCTYPE html>
        <html>
        <head>
        <title>Welcome to nginx!</title>
        <style>
        html { color-scheme: light dark; }
        body { width: 35em; margin: 0 auto;
        font-family: Tahoma, Verdana, Arial, sans-serif; }
        </style>
        </head>
        <body>
        <h1>Welcome to nginx!</h1>
        <p>If you see this page, the nginx web server is successfully installed and
        working. Further configuration is required.</p>

        <p>For online documentation and support please refer to
        <a href="http://nginx.org/">nginx.org</a>.<br/>
        Commercial support is available at
        <a href="http://nginx.com/">nginx.com</a>.</p>

        <p><em>Thank you for using nginx.</em></p>
        </body>
        </html>

        """;

    /// <summary>Writes the document root: index.html and <c>bulk</c> (random, so nothing on the way can compress it).</summary>
    public static void WriteContent(string root, long bulkBytes)
    {
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "index.html"), DefaultPage.ReplaceLineEndings("\n"));
        using var bulk = new FileStream(Path.Combine(root, "bulk"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var chunk = new byte[1 << 20];
        for (long written = 0; written < bulkBytes; written += chunk.Length)
        {
            RandomNumberGenerator.Fill(chunk);
            bulk.Write(chunk, 0, (int)Math.Min(chunk.Length, bulkBytes - written));
        }
    }

    /// <summary>
    /// nginx.conf for prefix <paramref name="prefix"/> (pid and temp files there), listening on <paramref name="listen"/>
    /// (an address:port, or <see cref="ListenPlaceholder"/>:port). Keep-alive connections are never closed by nginx
    /// during a run (keepalive_requests 1000000, not the default 1000), so the keep-alive figure has no reconnects in it;
    /// sendfile on as in Debian's own nginx.conf.
    /// </summary>
    public static string Config(string prefix, string listen, string root) => string.Create(CultureInfo.InvariantCulture, $$"""
        worker_processes 1;
        pid {{prefix}}/nginx.pid;
        error_log stderr warn;
        events {
            worker_connections 4096;
        }
        http {
            access_log off;
            sendfile on;
            tcp_nopush on;
            keepalive_timeout 65;
            keepalive_requests 1000000;
            default_type application/octet-stream;
            client_body_temp_path {{prefix}}/tmp/body;
            proxy_temp_path {{prefix}}/tmp/proxy;
            fastcgi_temp_path {{prefix}}/tmp/fastcgi;
            uwsgi_temp_path {{prefix}}/tmp/uwsgi;
            scgi_temp_path {{prefix}}/tmp/scgi;
            server {
                listen {{listen}};
                root {{root}};
            }
        }

        """);

    /// <summary>The command line that runs nginx in the foreground on a prefix with its nginx.conf.</summary>
    public static IReadOnlyList<string> Arguments(string prefix) => ["-p", prefix, "-c", Path.Combine(prefix, "nginx.conf"), "-e", "stderr", "-g", "daemon off;"];

    /// <summary>Starts nginx as a plain process on <paramref name="listen"/> and waits until it accepts connections.</summary>
    public static async Task<ToolProcess> StartAsync(string prefix, IPEndPoint listen, string root, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.Combine(prefix, "tmp"));
        await File.WriteAllTextAsync(Path.Combine(prefix, "nginx.conf"), Config(prefix, listen.ToString(), root), ct).ConfigureAwait(false);
        var nginx = ToolProcess.Start(Program, Arguments(prefix));
        try
        {
            await nginx.WaitForListenerAsync(listen, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        }
        catch
        {
            await nginx.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return nginx;
    }
}
