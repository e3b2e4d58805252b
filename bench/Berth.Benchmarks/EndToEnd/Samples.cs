namespace Berth.Benchmarks.EndToEnd;

/// <summary>A sorted set of measurements (milliseconds unless said otherwise) with nearest-rank percentiles.</summary>
internal sealed class Samples
{
    private readonly double[] _sorted;

    public Samples(IEnumerable<double> values)
    {
        _sorted = [.. values.Where(v => !double.IsNaN(v))];
        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    public double Median => Percentile(50);

    public double Max => _sorted.Length == 0 ? double.NaN : _sorted[^1];

    public double Min => _sorted.Length == 0 ? double.NaN : _sorted[0];

    /// <summary>Nearest-rank percentile: the smallest sample at or above p% of the samples (no interpolation).</summary>
    public double Percentile(double p)
    {
        if (_sorted.Length == 0)
        {
            return double.NaN;
        }
        var rank = (int)Math.Ceiling(p / 100 * _sorted.Length);
        return _sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)];
    }
}
