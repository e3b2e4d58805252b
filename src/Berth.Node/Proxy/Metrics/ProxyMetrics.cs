using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Proxy.Metrics;

/// <summary>
/// Every metric the proxy exports, written in the Prometheus text format (0.0.4) for /metrics: per service port
/// counters (<see cref="ServicePortStats"/>) and the sync histograms, named as upstream kube-proxy's where one exists.
/// </summary>
internal sealed class ProxyMetrics
{
    private readonly ConcurrentDictionary<ServicePortName, ServicePortStats> _stats = new();
    private readonly Func<ServicePortName, ServicePortStats> _create = static _ => new ServicePortStats();

    // Unix time in ticks (100 ns) of the last successful sync; 0 until the first.
    private long _lastSyncTicks;

    /// <summary>kubeproxy_sync_proxy_rules_duration_seconds: how long one sync took.</summary>
    public Histogram SyncDuration { get; } = new(
        "kubeproxy_sync_proxy_rules_duration_seconds",
        // component-base prefixes the help of an ALPHA metric with its stability level.
        "[ALPHA] SyncProxyRules latency in seconds",
        Histogram.ExponentialBuckets(0.001, 2, 15));

    /// <summary>kubeproxy_network_programming_duration_seconds: EndpointSlice change (its trigger time) → listeners programmed.</summary>
    public Histogram ProgrammingLatency { get; } = new(
        "kubeproxy_network_programming_duration_seconds",
        "[ALPHA] In Cluster Network Programming Latency in seconds",
        [
            // Finer than upstream's first bucket (0.25 s): listeners here are programmed in milliseconds.
            0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
            .. Histogram.LinearBuckets(0.25, 0.25, 2),
            .. Histogram.LinearBuckets(1, 1, 59),
            .. Histogram.LinearBuckets(60, 5, 12),
            .. Histogram.LinearBuckets(120, 30, 7),
        ]);

    /// <summary>The stats of a service port, created on first use.</summary>
    public ServicePortStats For(ServicePortName name) => _stats.GetOrAdd(name, _create);

    /// <summary>Drops a service port that no longer exists.</summary>
    public void Remove(ServicePortName name) => _stats.TryRemove(name, out _);

    /// <summary>kubeproxy_sync_proxy_rules_last_timestamp_seconds: a sync just succeeded at <paramref name="when"/>.</summary>
    public void SetLastSync(DateTimeOffset when) => Volatile.Write(ref _lastSyncTicks, when.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks);

    public void WriteTo(StringBuilder output)
    {
        var ports = _stats.ToArray();
        // Stable order for scrapers diffing output and for tests.
        Array.Sort(ports, static (a, b) => Compare(a.Key, b.Key));

        WriteFamily(output, ports, "berth_proxy_connections_total", "Connections (TCP) or flows (UDP) accepted and sent to an endpoint.", "counter",
            static s => Interlocked.Read(ref s.Connections));
        WriteFamily(output, ports, "berth_proxy_active_connections", "Connections or flows open now.", "gauge",
            static s => Interlocked.Read(ref s.Active));
        WriteHeader(output, "berth_proxy_bytes_total", "Bytes relayed: in = from clients to endpoints, out = from endpoints to clients.", "counter");
        foreach (var (name, stats) in ports)
        {
            WriteSample(output, "berth_proxy_bytes_total", name, "in", Interlocked.Read(ref stats.BytesIn));
            WriteSample(output, "berth_proxy_bytes_total", name, "out", Interlocked.Read(ref stats.BytesOut));
        }
        WriteFamily(output, ports, "berth_proxy_refused_total",
            "Connections refused or closed because no endpoint could be reached, and UDP datagrams dropped for the same reason.", "counter",
            static s => Interlocked.Read(ref s.Refused));
        WriteFamily(output, ports, "berth_proxy_retries_total", "Connect attempts that failed and were retried on another endpoint.", "counter",
            static s => Interlocked.Read(ref s.Retried));
        WriteFamily(output, ports, "berth_proxy_affinity_hits_total", "Endpoint choices made by ClientIP session affinity.", "counter",
            static s => Interlocked.Read(ref s.AffinityHits));

        SyncDuration.WriteTo(output);
        ProgrammingLatency.WriteTo(output);

        WriteHeader(output, "kubeproxy_sync_proxy_rules_last_timestamp_seconds", "[ALPHA] The last time proxy rules were successfully synced", "gauge");
        output.Append("kubeproxy_sync_proxy_rules_last_timestamp_seconds ")
            .Append(FormatValue(Volatile.Read(ref _lastSyncTicks) / (double)TimeSpan.TicksPerSecond)).Append('\n');
    }

    /// <summary>A sample value as the Prometheus text format writes it (Go's shortest float, +Inf).</summary>
    internal static string FormatValue(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" :
        double.IsNegativeInfinity(value) ? "-Inf" :
        double.IsNaN(value) ? "NaN" :
        value.ToString("R", CultureInfo.InvariantCulture);

    internal static void WriteHeader(StringBuilder output, string name, string help, string type)
    {
        output.Append("# HELP ").Append(name).Append(' ');
        // HELP text escapes only backslash and line feed.
        foreach (var c in help)
        {
            switch (c)
            {
                case '\\': output.Append(@"\\"); break;
                case '\n': output.Append(@"\n"); break;
                default: output.Append(c); break;
            }
        }
        output.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private static void WriteFamily(StringBuilder output, KeyValuePair<ServicePortName, ServicePortStats>[] ports, string metric, string help, string type,
        Func<ServicePortStats, long> value)
    {
        WriteHeader(output, metric, help, type);
        foreach (var (name, stats) in ports)
        {
            WriteSample(output, metric, name, null, value(stats));
        }
    }

    private static void WriteSample(StringBuilder output, string metric, ServicePortName name, string? direction, long value)
    {
        output.Append(metric).Append("{namespace=\"");
        AppendLabelValue(output, name.Namespace);
        output.Append("\",service=\"");
        AppendLabelValue(output, name.Name);
        output.Append("\",port=\"");
        AppendLabelValue(output, name.Port);
        // Upstream's protocol spelling (v1.Protocol): TCP, UDP, SCTP.
        output.Append("\",protocol=\"").Append(name.Protocol.ToString().ToUpperInvariant()).Append('"');
        if (direction is not null)
        {
            output.Append(",direction=\"").Append(direction).Append('"');
        }
        output.Append("} ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    // Label values escape backslash, double quote and line feed.
    private static void AppendLabelValue(StringBuilder output, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': output.Append(@"\\"); break;
                case '"': output.Append("\\\""); break;
                case '\n': output.Append(@"\n"); break;
                default: output.Append(c); break;
            }
        }
    }

    private static int Compare(ServicePortName a, ServicePortName b)
    {
        var c = string.CompareOrdinal(a.Namespace, b.Namespace);
        if (c == 0)
        {
            c = string.CompareOrdinal(a.Name, b.Name);
        }
        if (c == 0)
        {
            c = string.CompareOrdinal(a.Port, b.Port);
        }
        return c != 0 ? c : a.Protocol.CompareTo(b.Protocol);
    }
}

/// <summary>A cumulative histogram with fixed buckets (upper bounds in seconds), safe to observe from any thread.</summary>
internal sealed class Histogram
{
    private readonly string _name;
    private readonly string _help;
    private readonly double[] _bounds;

    // Observations per bucket, not cumulative: the last slot is the +Inf bucket. Made cumulative when written.
    private readonly long[] _counts;
    private double _sum;

    public Histogram(string name, string help, double[] buckets)
    {
        for (var i = 1; i < buckets.Length; i++)
        {
            if (buckets[i] <= buckets[i - 1])
            {
                throw new ArgumentException($"histogram buckets must be in increasing order: {buckets[i - 1]} >= {buckets[i]}", nameof(buckets));
            }
        }
        _name = name;
        _help = help;
        _bounds = buckets;
        _counts = new long[buckets.Length + 1];
    }

    public void Observe(double seconds)
    {
        // Prometheus buckets are inclusive upper bounds (le).
        var i = Array.BinarySearch(_bounds, seconds);
        Interlocked.Increment(ref _counts[i >= 0 ? i : ~i]);
        var sum = Volatile.Read(ref _sum);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _sum, sum + seconds, sum);
            if (seen.Equals(sum))
            {
                return;
            }
            sum = seen;
        }
    }

    /// <summary>prometheus.ExponentialBuckets: <paramref name="count"/> bounds from <paramref name="start"/>, each <paramref name="factor"/> times the last.</summary>
    public static double[] ExponentialBuckets(double start, double factor, int count)
    {
        var buckets = new double[count];
        for (var i = 0; i < count; i++)
        {
            buckets[i] = start;
            start *= factor;
        }
        return buckets;
    }

    /// <summary>prometheus.LinearBuckets: <paramref name="count"/> bounds from <paramref name="start"/>, <paramref name="width"/> apart.</summary>
    public static double[] LinearBuckets(double start, double width, int count)
    {
        var buckets = new double[count];
        for (var i = 0; i < count; i++)
        {
            buckets[i] = start;
            start += width;
        }
        return buckets;
    }

    public void WriteTo(StringBuilder output)
    {
        ProxyMetrics.WriteHeader(output, _name, _help, "histogram");
        long cumulative = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            cumulative += Interlocked.Read(ref _counts[i]);
            output.Append(_name).Append("_bucket{le=\"")
                .Append(ProxyMetrics.FormatValue(i < _bounds.Length ? _bounds[i] : double.PositiveInfinity))
                .Append("\"} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        output.Append(_name).Append("_sum ").Append(ProxyMetrics.FormatValue(Volatile.Read(ref _sum))).Append('\n');
        // The count is the +Inf bucket, so the two always agree in one scrape.
        output.Append(_name).Append("_count ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }
}
