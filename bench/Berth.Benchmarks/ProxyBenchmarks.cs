using System.Collections.Immutable;
using System.Net;
using BenchmarkDotNet.Attributes;
using Berth.Node.Proxy.LoadBalancing;
using Berth.Node.Proxy.Model;

namespace Berth.Benchmarks;

/// <summary>
/// What the service proxy's balancer costs per new connection: one Pick per algorithm, with and without a ClientIP
/// affinity entry, and the whole bookkeeping of a connection (Pick, Connected, Disconnected), for a Service of 3 and
/// of 100 ready endpoints. The relay calls these once per accepted connection, on its worker threads.
/// </summary>
[MemoryDiagnoser]
public class ProxyBenchmarks
{
    private static readonly IPAddress s_client = IPAddress.Parse("127.0.0.1");

    private ImmutableArray<EndpointInfo> _endpoints;
    private ServiceBalancer _roundRobin = null!;
    private ServiceBalancer _leastConnections = null!;
    private ServiceBalancer _random = null!;
    private ServiceBalancer _affinity = null!;

    [Params(3, 100)]
    public int Endpoints { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _endpoints = [.. Enumerable.Range(0, Endpoints).Select(i => new EndpointInfo(IPAddress.Parse($"127.244.{i / 250}.{(i % 250) + 2}"), 8080) { Ready = true, Serving = true })];
        _roundRobin = Balancer(BalancingAlgorithm.RoundRobin, null);
        _leastConnections = Balancer(BalancingAlgorithm.LeastConnections, null);
        _random = Balancer(BalancingAlgorithm.Random, null);
        _affinity = Balancer(BalancingAlgorithm.RoundRobin, TimeSpan.FromSeconds(10800));
        // One connection to every endpoint already open, so least-connections compares real counts.
        foreach (var endpoint in _endpoints)
        {
            _leastConnections.Connected(endpoint, s_client);
        }
        // The client's affinity entry: every later Pick is a hit.
        _affinity.Connected(_endpoints[_affinity.Pick(_endpoints, s_client, 0, out _)], s_client);
    }

    private static ServiceBalancer Balancer(BalancingAlgorithm algorithm, TimeSpan? affinity)
    {
        var balancer = new ServiceBalancer(TimeProvider.System);
        balancer.Configure(new ServicePortInfo
        {
            Name = new ServicePortName("bench", "svc", "http", TransportProtocol.Tcp),
            Port = 80,
            Algorithm = algorithm,
            AffinityTimeout = affinity,
        });
        return balancer;
    }

    [Benchmark(Baseline = true)]
    public int PickRoundRobin() => _roundRobin.Pick(_endpoints, s_client, 0, out _);

    [Benchmark]
    public int PickLeastConnections() => _leastConnections.Pick(_endpoints, s_client, 0, out _);

    [Benchmark]
    public int PickRandom() => _random.Pick(_endpoints, s_client, 0, out _);

    [Benchmark]
    public int PickAffinityHit() => _affinity.Pick(_endpoints, s_client, 0, out _);

    /// <summary>A connection's whole life in the balancer, to an endpoint with no other connection open.</summary>
    [Benchmark]
    public int ConnectionRoundRobin()
    {
        var i = _roundRobin.Pick(_endpoints, s_client, 0, out _);
        _roundRobin.Connected(_endpoints[i], s_client);
        _roundRobin.Disconnected(_endpoints[i]);
        return i;
    }

    /// <summary>The same with ClientIP affinity on: the entry is looked up and refreshed.</summary>
    [Benchmark]
    public int ConnectionAffinity()
    {
        var i = _affinity.Pick(_endpoints, s_client, 0, out _);
        _affinity.Connected(_endpoints[i], s_client);
        _affinity.Disconnected(_endpoints[i]);
        return i;
    }
}
