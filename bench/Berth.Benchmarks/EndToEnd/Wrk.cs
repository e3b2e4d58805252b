using System.Globalization;
using System.Text.RegularExpressions;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>What one wrk run reported: its summary lines, and the latency distribution of <c>--latency</c>.</summary>
internal sealed record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Requests, long Errors, long Non2xx, string ErrorLine);

/// <summary>
/// Runs wrk (https://github.com/wg/wrk, Debian's package) and reads its report. Every target gets the same command
/// line; only the URL differs.
/// </summary>
internal static partial class Wrk
{
    public const string Program = "wrk";

    /// <summary>
    /// <c>wrk -t THREADS -c CONNECTIONS -d SECONDS --latency [-H "Connection: close"] URL</c>. With the header every
    /// response ends its connection (nginx closes it), so requests/s is new connections/s.
    /// </summary>
    public static IReadOnlyList<string> Arguments(string url, int threads, int connections, TimeSpan duration, bool close) =>
    [
        "-t", threads.ToString(CultureInfo.InvariantCulture),
        "-c", connections.ToString(CultureInfo.InvariantCulture),
        "-d", $"{(int)Math.Ceiling(duration.TotalSeconds)}s",
        "--latency",
        .. close ? (string[])["-H", "Connection: close"] : [],
        url,
    ];

    public static async Task<WrkResult> RunAsync(string url, int threads, int connections, TimeSpan duration, bool close, CancellationToken ct)
    {
        var args = Arguments(url, threads, connections, duration, close);
        var (exit, output) = await ToolProcess.RunAsync(Program, args, duration + TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        if (exit != 0)
        {
            throw new InvalidOperationException($"`wrk {string.Join(' ', args)}` exited with code {exit}:\n{output}");
        }
        return Parse(output) ?? throw new InvalidOperationException($"cannot read the report of `wrk {string.Join(' ', args)}`:\n{output}");
    }

    /// <summary>The figures of a wrk report; null when the lines are not there (wrk failed before measuring).</summary>
    public static WrkResult? Parse(string output)
    {
        var rate = RequestsPerSecond().Match(output);
        var p50 = Percentile().Matches(output).FirstOrDefault(m => m.Groups["p"].Value == "50");
        var p99 = Percentile().Matches(output).FirstOrDefault(m => m.Groups["p"].Value == "99");
        var total = Total().Match(output);
        if (!rate.Success || p50 is null || p99 is null || !total.Success)
        {
            return null;
        }
        var errors = SocketErrors().Match(output);
        var errorCount = errors.Success
            ? new[] { "connect", "read", "write", "timeout" }.Sum(g => long.Parse(errors.Groups[g].Value, CultureInfo.InvariantCulture))
            : 0;
        var non2xx = Non2xx().Match(output);
        return new WrkResult(
            double.Parse(rate.Groups["v"].Value, CultureInfo.InvariantCulture),
            Milliseconds(p50), Milliseconds(p99),
            long.Parse(total.Groups["n"].Value, CultureInfo.InvariantCulture),
            errorCount,
            non2xx.Success ? long.Parse(non2xx.Groups["n"].Value, CultureInfo.InvariantCulture) : 0,
            errors.Success ? errors.Value.Trim() : "");
    }

    // wrk prints times with the units us, ms, s, m and h (format_time in its stats.c).
    private static double Milliseconds(Match m)
    {
        var value = double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture);
        return m.Groups["u"].Value switch
        {
            "us" => value / 1000,
            "ms" => value,
            "s" => value * 1000,
            "m" => value * 60_000,
            "h" => value * 3_600_000,
            var u => throw new FormatException($"unknown wrk time unit \"{u}\""),
        };
    }

    [GeneratedRegex(@"^Requests/sec:\s+(?<v>[\d.]+)", RegexOptions.Multiline)]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"^\s+(?<p>50|75|90|99)%\s+(?<v>[\d.]+)(?<u>us|ms|s|m|h)\s*$", RegexOptions.Multiline)]
    private static partial Regex Percentile();

    [GeneratedRegex(@"^\s+(?<n>\d+) requests in ", RegexOptions.Multiline)]
    private static partial Regex Total();

    [GeneratedRegex(@"Socket errors: connect (?<connect>\d+), read (?<read>\d+), write (?<write>\d+), timeout (?<timeout>\d+)")]
    private static partial Regex SocketErrors();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (?<n>\d+)")]
    private static partial Regex Non2xx();
}
