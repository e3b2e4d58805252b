using System.Globalization;
using System.Text;
using Berth.Node.Proxy.Metrics;
using Berth.Node.Proxy.Model;

namespace Berth.Node.Tests.Proxy.Metrics;

public class ProxyMetricsTests
{
    [Fact]
    public void WriteTo_ServicePortCounters_GoldenText()
    {
        var metrics = new ProxyMetrics();
        var web = metrics.For(new ServicePortName("default", "web", "http", TransportProtocol.Tcp));
        web.Connections = 12;
        web.Active = 3;
        web.BytesIn = 1000;
        web.BytesOut = 250000;
        web.Refused = 1;
        web.Retried = 2;
        web.AffinityHits = 7;
        // Created after but sorted before; a UDP port of the same name is its own series.
        metrics.For(new ServicePortName("a", "dns", "", TransportProtocol.Udp)).Connections = 5;
        metrics.For(new ServicePortName("default", "web", "http", TransportProtocol.Udp)).Refused = 4;

        var text = Write(metrics);

        const string Expected = """
            # HELP berth_proxy_connections_total Connections (TCP) or flows (UDP) accepted and sent to an endpoint.
            # TYPE berth_proxy_connections_total counter
            berth_proxy_connections_total{namespace="a",service="dns",port="",protocol="UDP"} 5
            berth_proxy_connections_total{namespace="default",service="web",port="http",protocol="TCP"} 12
            berth_proxy_connections_total{namespace="default",service="web",port="http",protocol="UDP"} 0
            # HELP berth_proxy_active_connections Connections or flows open now.
            # TYPE berth_proxy_active_connections gauge
            berth_proxy_active_connections{namespace="a",service="dns",port="",protocol="UDP"} 0
            berth_proxy_active_connections{namespace="default",service="web",port="http",protocol="TCP"} 3
            berth_proxy_active_connections{namespace="default",service="web",port="http",protocol="UDP"} 0
            # HELP berth_proxy_bytes_total Bytes relayed: in = from clients to endpoints, out = from endpoints to clients.
            # TYPE berth_proxy_bytes_total counter
            berth_proxy_bytes_total{namespace="a",service="dns",port="",protocol="UDP",direction="in"} 0
            berth_proxy_bytes_total{namespace="a",service="dns",port="",protocol="UDP",direction="out"} 0
            berth_proxy_bytes_total{namespace="default",service="web",port="http",protocol="TCP",direction="in"} 1000
            berth_proxy_bytes_total{namespace="default",service="web",port="http",protocol="TCP",direction="out"} 250000
            berth_proxy_bytes_total{namespace="default",service="web",port="http",protocol="UDP",direction="in"} 0
            berth_proxy_bytes_total{namespace="default",service="web",port="http",protocol="UDP",direction="out"} 0
            # HELP berth_proxy_refused_total Connections refused or closed because no endpoint could be reached, and UDP datagrams dropped for the same reason.
            # TYPE berth_proxy_refused_total counter
            berth_proxy_refused_total{namespace="a",service="dns",port="",protocol="UDP"} 0
            berth_proxy_refused_total{namespace="default",service="web",port="http",protocol="TCP"} 1
            berth_proxy_refused_total{namespace="default",service="web",port="http",protocol="UDP"} 4
            # HELP berth_proxy_retries_total Connect attempts that failed and were retried on another endpoint.
            # TYPE berth_proxy_retries_total counter
            berth_proxy_retries_total{namespace="a",service="dns",port="",protocol="UDP"} 0
            berth_proxy_retries_total{namespace="default",service="web",port="http",protocol="TCP"} 2
            berth_proxy_retries_total{namespace="default",service="web",port="http",protocol="UDP"} 0
            # HELP berth_proxy_affinity_hits_total Endpoint choices made by ClientIP session affinity.
            # TYPE berth_proxy_affinity_hits_total counter
            berth_proxy_affinity_hits_total{namespace="a",service="dns",port="",protocol="UDP"} 0
            berth_proxy_affinity_hits_total{namespace="default",service="web",port="http",protocol="TCP"} 7
            berth_proxy_affinity_hits_total{namespace="default",service="web",port="http",protocol="UDP"} 0

            """;
        Assert.StartsWith(Expected.ReplaceLineEndings("\n"), text, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteTo_SyncHistogramAndTimestamp_UpstreamNamesAndBuckets()
    {
        var metrics = new ProxyMetrics();
        metrics.SyncDuration.Observe(0.003);
        metrics.SyncDuration.Observe(20);
        metrics.SetLastSync(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_250));

        var text = Write(metrics);

        const string Sync = """
            # HELP kubeproxy_sync_proxy_rules_duration_seconds [ALPHA] SyncProxyRules latency in seconds
            # TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.001"} 0
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.002"} 0
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.008"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.016"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.032"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.064"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.128"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.256"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.512"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="1.024"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="2.048"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="4.096"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="8.192"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="16.384"} 1
            kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="+Inf"} 2
            kubeproxy_sync_proxy_rules_duration_seconds_sum 20.003
            kubeproxy_sync_proxy_rules_duration_seconds_count 2

            """;
        Assert.Contains(Sync.ReplaceLineEndings("\n"), text, StringComparison.Ordinal);
        Assert.EndsWith("""
            # HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds [ALPHA] The last time proxy rules were successfully synced
            # TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge
            kubeproxy_sync_proxy_rules_last_timestamp_seconds 1700000000.25

            """.ReplaceLineEndings("\n"), text, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteTo_ProgrammingLatency_FinerBucketsThenUpstreams()
    {
        var metrics = new ProxyMetrics();
        metrics.ProgrammingLatency.Observe(0.004);
        metrics.ProgrammingLatency.Observe(61);

        var text = Write(metrics);

        const string Name = "kubeproxy_network_programming_duration_seconds";
        Assert.Contains($"# HELP {Name} [ALPHA] In Cluster Network Programming Latency in seconds\n# TYPE {Name} histogram\n", text, StringComparison.Ordinal);
        var bounds = text.Split('\n')
            .Where(l => l.StartsWith(Name + "_bucket{le=\"", StringComparison.Ordinal))
            .Select(l => l[(Name.Length + 12)..l.IndexOf('"', Name.Length + 12)])
            .ToArray();
        string[] expected =
        [
            "0.001", "0.002", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
            .. Enumerable.Range(1, 59).Select(s => s.ToString(CultureInfo.InvariantCulture)),
            .. Enumerable.Range(0, 12).Select(i => (60 + 5 * i).ToString(CultureInfo.InvariantCulture)),
            .. Enumerable.Range(0, 7).Select(i => (120 + 30 * i).ToString(CultureInfo.InvariantCulture)),
            "+Inf",
        ];
        Assert.Equal(expected, bounds);
        Assert.Contains($"{Name}_bucket{{le=\"0.002\"}} 0\n{Name}_bucket{{le=\"0.005\"}} 1\n", text, StringComparison.Ordinal);
        Assert.Contains($"{Name}_bucket{{le=\"60\"}} 1\n{Name}_bucket{{le=\"65\"}} 2\n", text, StringComparison.Ordinal);
        Assert.Contains($"{Name}_count 2\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Histogram_Observe_BucketsAreInclusiveUpperBoundsAndCumulative()
    {
        var histogram = new Histogram("h", "help", [0.1, 1, 10]);
        foreach (var value in new[] { 0.05, 0.1, 0.5, 10, 11 })
        {
            histogram.Observe(value);
        }

        var text = new StringBuilder();
        histogram.WriteTo(text);

        Assert.Equal("""
            # HELP h help
            # TYPE h histogram
            h_bucket{le="0.1"} 2
            h_bucket{le="1"} 3
            h_bucket{le="10"} 4
            h_bucket{le="+Inf"} 5
            h_sum 21.65
            h_count 5

            """.ReplaceLineEndings("\n"), text.ToString());
    }

    [Fact]
    public void Histogram_ConcurrentObserve_CountsAndSumsEveryObservation()
    {
        var histogram = new Histogram("h", "help", [1]);

        Parallel.For(0, 10_000, i => histogram.Observe(i % 2 == 0 ? 0.5 : 2));

        var text = new StringBuilder();
        histogram.WriteTo(text);
        Assert.Contains("h_bucket{le=\"1\"} 5000\nh_bucket{le=\"+Inf\"} 10000\nh_sum 12500\nh_count 10000\n", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Histogram_BucketsNotIncreasing_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new Histogram("h", "help", [1, 1]));
        Assert.StartsWith("histogram buckets must be in increasing order: 1 >= 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteTo_LabelValuesAndHelp_AreEscaped()
    {
        var metrics = new ProxyMetrics();
        metrics.For(new ServicePortName("ns", "a\"b\\c\nd", "p", TransportProtocol.Tcp)).Connections = 1;
        var histogram = new Histogram("h", "back\\slash\nnew line", [1]);

        var text = Write(metrics);
        var help = new StringBuilder();
        histogram.WriteTo(help);

        Assert.Contains("berth_proxy_connections_total{namespace=\"ns\",service=\"a\\\"b\\\\c\\nd\",port=\"p\",protocol=\"TCP\"} 1\n", text, StringComparison.Ordinal);
        Assert.StartsWith("# HELP h back\\\\slash\\nnew line\n", help.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Remove_DropsTheServicePortsSeries_AndForReturnsTheSameStatsUntilThen()
    {
        var metrics = new ProxyMetrics();
        var name = new ServicePortName("ns", "gone", "http", TransportProtocol.Tcp);
        var stats = metrics.For(name);
        Assert.Same(stats, metrics.For(name));

        metrics.Remove(name);

        Assert.DoesNotContain("service=\"gone\"", Write(metrics), StringComparison.Ordinal);
        Assert.NotSame(stats, metrics.For(name));
    }

    private static string Write(ProxyMetrics metrics)
    {
        var text = new StringBuilder();
        metrics.WriteTo(text);
        return text.ToString();
    }
}
