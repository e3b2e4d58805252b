using System.Globalization;
using System.Text;

namespace Berth.Benchmarks.EndToEnd;

/// <summary>The results as one markdown table: every Berth figure next to the baseline measured in the same run.</summary>
internal sealed class ResultTable
{
    private readonly List<(string Id, string What, string Berth, string Baseline, string Ratio, string Notes)> _rows = [];

    public void Add(string id, string what, string berth, string baseline, string ratio, string notes) =>
        _rows.Add((id, what, berth, baseline, ratio, notes.Replace("|", "\\|", StringComparison.Ordinal)));

    public string ToMarkdown()
    {
        var sb = new StringBuilder()
            .Append("| # | Measurement | Berth | Baseline (same run) | Berth ÷ baseline | Notes |\n")
            .Append("|---|---|---|---|---|---|\n");
        // Rows are added in the order they are measured; print them in the order of the ids (1a, 1b, 1c, 2a...).
        foreach (var r in _rows.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"| {r.Id} | {r.What} | {r.Berth} | {r.Baseline} | {r.Ratio} | {r.Notes} |\n");
        }
        return sb.ToString();
    }

    /// <summary>The table, then the run's observations as a list (if any).</summary>
    public string ToMarkdown(IReadOnlyCollection<string> observations)
    {
        var sb = new StringBuilder(ToMarkdown());
        if (observations.Count > 0)
        {
            sb.Append("\nObservations:\n");
            foreach (var o in observations)
            {
                sb.Append("- ").Append(o).Append('\n');
            }
        }
        return sb.ToString();
    }

    public static string Ms(double ms) => double.IsNaN(ms) ? "n/a"
        : Math.Abs(ms) >= 100 ? string.Create(CultureInfo.InvariantCulture, $"{ms:F0} ms")
        : Math.Abs(ms) >= 10 ? string.Create(CultureInfo.InvariantCulture, $"{ms:F1} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{ms:F2} ms");

    public static string Rate(double perSecond) => string.Create(CultureInfo.InvariantCulture, $"{perSecond:N0}/s");

    public static string MiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");

    public static string Ratio(double berth, double baseline) =>
        double.IsNaN(berth) || double.IsNaN(baseline) || baseline == 0 ? "n/a"
        : string.Create(CultureInfo.InvariantCulture, $"{berth / baseline:F2}×");
}
