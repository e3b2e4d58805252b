using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>
/// Bulk throughput of one connection: GET /bulk over and over on one keep-alive connection for a fixed time, every
/// byte received counted, reading 1 MiB at a time. Runs in a process of its own (this program, <c>proxy bulk-client</c>)
/// so it shares nothing with an in-process proxy. wrk is not used for this: it reads 8 KiB per syscall and, on this
/// machine, was the bottleneck of the direct path (≈ 500 MB/s where a 1 MiB reader gets ≈ 800 MB/s), which would
/// have hidden what a proxy costs; a single curl download of the file lasts a fraction of a second and varies too much.
/// </summary>
internal static partial class BulkClient
{
    public const string Command = "bulk-client";

    private static readonly byte[] s_headerEnd = "\r\n\r\n"u8.ToArray();

    /// <summary>Runs the client as a child process against <paramref name="target"/> and returns bytes/s.</summary>
    public static async Task<double> MeasureAsync(IPEndPoint target, string path, TimeSpan duration, CancellationToken ct)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell this program's path");
        string[] args = [Command, target.ToString(), path, duration.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)];
        // Under `dotnet Berth.Benchmarks.dll` the process is the dotnet host: it needs the assembly again.
        var (file, prefix) = Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? (self, new[] { Assembly.GetExecutingAssembly().Location, "proxy" })
            : (self, new[] { "proxy" });
        var (exit, output) = await ToolProcess.RunAsync(file, [.. prefix, .. args], duration + TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        var match = Report().Match(output);
        if (exit != 0 || !match.Success)
        {
            throw new InvalidOperationException($"bulk client against {target}{path} exited with code {exit}:\n{output}");
        }
        return double.Parse(match.Groups["bytes"].Value, CultureInfo.InvariantCulture) / double.Parse(match.Groups["seconds"].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The child's side: <c>bulk-client IP:PORT PATH SECONDS</c>; prints "bytes=N seconds=S responses=R".</summary>
    public static int Run(string[] args)
    {
        if (args.Length != 3 || !IPEndPoint.TryParse(args[0], out var target)
            || !double.TryParse(args[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
        {
            Console.Error.WriteLine("usage: proxy bulk-client IP:PORT PATH SECONDS");
            return 2;
        }
        using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(target);
        var request = Encoding.ASCII.GetBytes($"GET {args[1]} HTTP/1.1\r\nHost: bench\r\n\r\n");
        var buffer = new byte[1 << 20];
        long bytes = 0;
        var responses = 0;
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            socket.Send(request);
            // nginx answers one request at a time, so every response starts at a fresh read.
            var got = 0;
            int headerEnd;
            while ((headerEnd = buffer.AsSpan(0, got).IndexOf(s_headerEnd)) < 0)
            {
                var n = socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("connection closed before a response");
                }
                got += n;
                bytes += n;
            }
            var remaining = ContentLength(buffer.AsSpan(0, headerEnd)) - (got - headerEnd - s_headerEnd.Length);
            while (remaining > 0 && Stopwatch.GetTimestamp() < deadline)
            {
                var n = socket.Receive(buffer, 0, (int)Math.Min(buffer.Length, remaining), SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("connection closed in the middle of a response");
                }
                remaining -= n;
                bytes += n;
            }
            responses += remaining == 0 ? 1 : 0;
        }
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bytes={bytes} seconds={elapsed:F6} responses={responses}"));
        return 0;
    }

    private static long ContentLength(ReadOnlySpan<byte> head)
    {
        var text = Encoding.ASCII.GetString(head);
        if (!text.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal))
        {
            throw new IOException($"unexpected response: {text}");
        }
        var match = ContentLengthHeader().Match(text);
        return match.Success ? long.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture) : throw new IOException($"no Content-Length: {text}");
    }

    [GeneratedRegex(@"^Content-Length:\s*(?<n>\d+)\s*$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex ContentLengthHeader();

    [GeneratedRegex(@"bytes=(?<bytes>\d+) seconds=(?<seconds>[\d.]+)")]
    private static partial Regex Report();
}
