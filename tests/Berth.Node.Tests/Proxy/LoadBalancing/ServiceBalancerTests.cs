using System.Collections.Immutable;
using System.Net;
using Berth.Node.Proxy.LoadBalancing;
using Berth.Node.Proxy.Model;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Node.Tests.Proxy.LoadBalancing;

public class ServiceBalancerTests
{
    private static readonly IPAddress s_clientA = IPAddress.Parse("127.0.0.10");
    private static readonly IPAddress s_clientB = IPAddress.Parse("127.0.0.11");

    public static TheoryData<BalancingAlgorithm> Algorithms => [BalancingAlgorithm.RoundRobin, BalancingAlgorithm.LeastConnections, BalancingAlgorithm.Random];

    [Fact]
    public void Pick_RoundRobin_CyclesThroughEveryEndpointInOrder()
    {
        var balancer = Balancer(BalancingAlgorithm.RoundRobin);
        var endpoints = Endpoints(3);

        var picks = Enumerable.Range(0, 7).Select(n => balancer.Pick(endpoints, s_clientA, 0, out _)).ToArray();

        Assert.Equal([0, 1, 2, 0, 1, 2, 0], picks);
    }

    [Fact]
    public void Pick_RoundRobin_SkipsTriedEndpointsWithoutLosingItsPlace()
    {
        var balancer = Balancer(BalancingAlgorithm.RoundRobin);
        var endpoints = Endpoints(3);

        // Bit 1 tried: the cursor still advances one step per pick, landing on 0, (1→)2, 2, 0.
        var picks = Enumerable.Range(0, 4).Select(n => balancer.Pick(endpoints, s_clientA, 0b010, out _)).ToArray();

        Assert.Equal([0, 2, 2, 0], picks);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Pick_NeverReturnsATriedEndpoint_AndMinusOneWhenAllAreTried(BalancingAlgorithm algorithm)
    {
        var balancer = Balancer(algorithm);
        var endpoints = Endpoints(4);

        for (ulong tried = 0; tried < 16; tried++)
        {
            for (var n = 0; n < 12; n++)
            {
                var pick = balancer.Pick(endpoints, s_clientA, tried, out var hit);
                Assert.False(hit);
                if (tried == 0b1111)
                {
                    Assert.Equal(-1, pick);
                }
                else
                {
                    Assert.InRange(pick, 0, 3);
                    Assert.True((tried & (1UL << pick)) == 0, $"picked tried endpoint {pick} with mask {tried:b4}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Pick_NoCandidates_ReturnsMinusOne(BalancingAlgorithm algorithm)
    {
        var balancer = Balancer(algorithm, TimeSpan.FromSeconds(10));
        balancer.Connected(Endpoints(1)[0], s_clientA);

        Assert.Equal(-1, balancer.Pick([], s_clientA, 0, out var hit));
        Assert.False(hit);
    }

    [Fact]
    public void Pick_BeyondSixtyFourCandidates_TheRestAreNeverMasked()
    {
        var balancer = Balancer(BalancingAlgorithm.Random);
        var endpoints = Endpoints(66);

        var pick = balancer.Pick(endpoints, s_clientA, ulong.MaxValue, out _);

        Assert.InRange(pick, 64, 65);
    }

    [Fact]
    public void Pick_LeastConnections_PicksTheLeastLoaded()
    {
        var balancer = Balancer(BalancingAlgorithm.LeastConnections);
        var endpoints = Endpoints(3);
        balancer.Connected(endpoints[0], s_clientA);
        balancer.Connected(endpoints[0], s_clientA);
        balancer.Connected(endpoints[1], s_clientA);

        Assert.Equal(2, balancer.Pick(endpoints, s_clientA, 0, out _));

        balancer.Connected(endpoints[2], s_clientA);
        balancer.Connected(endpoints[2], s_clientA);
        balancer.Connected(endpoints[2], s_clientA);
        Assert.Equal(1, balancer.Pick(endpoints, s_clientA, 0, out _));

        balancer.Disconnected(endpoints[0]);
        balancer.Disconnected(endpoints[0]);
        Assert.Equal(0, balancer.Pick(endpoints, s_clientA, 0, out _));
        // The least loaded is tried: the next least loaded.
        Assert.Equal(1, balancer.Pick(endpoints, s_clientA, 0b001, out _));
    }

    [Fact]
    public void Pick_LeastConnections_BreaksTiesRoundRobin()
    {
        var balancer = Balancer(BalancingAlgorithm.LeastConnections);
        var endpoints = Endpoints(3);

        var picks = Enumerable.Range(0, 6).Select(n => balancer.Pick(endpoints, s_clientA, 0, out _)).ToArray();

        Assert.Equal([0, 1, 2, 0, 1, 2], picks);
    }

    [Fact]
    public void Pick_LeastConnections_CountsFollowTheAddressAcrossSnapshots()
    {
        var balancer = Balancer(BalancingAlgorithm.LeastConnections);
        var before = Endpoints(2);
        balancer.Connected(before[0], s_clientA);

        // A new snapshot: equal addresses in new objects, another order, a condition changed.
        ImmutableArray<EndpointInfo> after = [before[1] with { Serving = false }, new EndpointInfo(before[0].Address, before[0].Port) { Ready = true, Terminating = true }];

        Assert.Equal(0, balancer.Pick(after, s_clientA, 0, out _));
        Assert.Equal(0, balancer.Pick(after, s_clientA, 0, out _));
    }

    [Fact]
    public void Disconnected_LastConnectionEnds_TheEndpointCanBeCountedAgain()
    {
        var balancer = Balancer(BalancingAlgorithm.LeastConnections);
        var endpoints = Endpoints(2);
        balancer.Connected(endpoints[0], s_clientA);
        balancer.Disconnected(endpoints[0]);
        balancer.Connected(endpoints[0], s_clientA);
        // An unmatched Disconnected (endpoint never connected) changes nothing.
        balancer.Disconnected(endpoints[1]);

        Assert.Equal(1, balancer.Pick(endpoints, s_clientA, 0, out _));
        Assert.Equal(1, balancer.Pick(endpoints, s_clientA, 0, out _));
    }

    [Fact]
    public void Pick_LeastConnections_ConcurrentConnectsAndDisconnectsBalanceOut()
    {
        var balancer = Balancer(BalancingAlgorithm.LeastConnections);
        var endpoints = Endpoints(2);
        balancer.Connected(endpoints[1], s_clientA);

        Parallel.For(0, 20_000, _ =>
        {
            balancer.Connected(endpoints[0], s_clientA);
            balancer.Disconnected(endpoints[0]);
        });

        // endpoints[0] is back at 0 connections, endpoints[1] still has 1.
        Assert.Equal(0, balancer.Pick(endpoints, s_clientA, 0, out _));
        Assert.Equal(0, balancer.Pick(endpoints, s_clientA, 0, out _));
    }

    [Fact]
    public void Pick_Random_ReachesEveryEndpoint()
    {
        var balancer = Balancer(BalancingAlgorithm.Random);
        var endpoints = Endpoints(3);

        // (2/3)^600 chance per endpoint of never being picked: this cannot fail by chance.
        var picked = Enumerable.Range(0, 600).Select(n => balancer.Pick(endpoints, s_clientA, 0, out _)).ToHashSet();

        Assert.Equal([0, 1, 2], picked.Order());
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Pick_Affinity_ReturnsTheClientsEndpointUntilTimeoutSinceItsLastConnection(BalancingAlgorithm algorithm)
    {
        var time = new FakeTimeProvider();
        var balancer = Balancer(algorithm, TimeSpan.FromSeconds(10), time);
        var endpoints = Endpoints(4);

        var first = balancer.Pick(endpoints, s_clientA, 0, out var hit);
        Assert.False(hit);
        balancer.Connected(endpoints[first], s_clientA);

        time.Advance(TimeSpan.FromSeconds(6));
        for (var n = 0; n < 5; n++)
        {
            Assert.Equal(first, balancer.Pick(endpoints, s_clientA, 0, out hit));
            Assert.True(hit);
        }
        // Another client has no entry.
        balancer.Pick(endpoints, s_clientB, 0, out hit);
        Assert.False(hit);

        // A connection refreshes the entry: the timeout now runs from t=6s.
        balancer.Connected(endpoints[first], s_clientA);
        time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.Equal(first, balancer.Pick(endpoints, s_clientA, 0, out hit));
        Assert.True(hit);

        time.Advance(TimeSpan.FromTicks(1));
        balancer.Pick(endpoints, s_clientA, 0, out hit);
        Assert.False(hit);
    }

    [Fact]
    public void Pick_AffinityEndpointNotACandidate_IsIgnoredAndReplacedOnTheNextConnect()
    {
        var balancer = Balancer(BalancingAlgorithm.RoundRobin, TimeSpan.FromSeconds(10));
        var endpoints = Endpoints(3);
        balancer.Connected(endpoints[2], s_clientA);

        ImmutableArray<EndpointInfo> remaining = [endpoints[0], endpoints[1]];
        var pick = balancer.Pick(remaining, s_clientA, 0, out var hit);
        Assert.False(hit);
        balancer.Connected(remaining[pick], s_clientA);

        // Now sticky to the new endpoint, even when the old one is back.
        Assert.Equal(pick, balancer.Pick(endpoints, s_clientA, 0, out hit));
        Assert.True(hit);
    }

    [Fact]
    public void Pick_AffinityEndpointTried_FallsBackToTheAlgorithm()
    {
        var balancer = Balancer(BalancingAlgorithm.RoundRobin, TimeSpan.FromSeconds(10));
        var endpoints = Endpoints(3);
        balancer.Connected(endpoints[0], s_clientA);

        var pick = balancer.Pick(endpoints, s_clientA, 0b001, out var hit);

        Assert.False(hit);
        Assert.NotEqual(0, pick);
    }

    public static TheoryData<string, TimeSpan?, bool> Reconfigurations => new()
    {
        { "same timeout keeps the table", TimeSpan.FromSeconds(10), true },
        { "affinity turned off", null, false },
        { "timeout changed", TimeSpan.FromSeconds(20), false },
    };

    [Theory]
    [MemberData(nameof(Reconfigurations))]
    public void Configure_AffinityOffOrTimeoutChanged_ClearsTheTable(string name, TimeSpan? timeout, bool kept)
    {
        _ = name;
        var balancer = Balancer(BalancingAlgorithm.RoundRobin, TimeSpan.FromSeconds(10));
        var endpoints = Endpoints(3);
        balancer.Connected(endpoints[2], s_clientA);

        balancer.Configure(Info(BalancingAlgorithm.RoundRobin, timeout));
        var pick = balancer.Pick(endpoints, s_clientA, 0, out var hit);

        Assert.Equal(kept, hit);
        Assert.Equal(kept ? 2 : 0, pick);
    }

    [Fact]
    public void Configure_AffinityOffThenOn_StartsEmpty()
    {
        var balancer = Balancer(BalancingAlgorithm.RoundRobin, TimeSpan.FromSeconds(10));
        var endpoints = Endpoints(3);
        balancer.Connected(endpoints[2], s_clientA);

        balancer.Configure(Info(BalancingAlgorithm.RoundRobin, null));
        balancer.Connected(endpoints[1], s_clientA);
        balancer.Configure(Info(BalancingAlgorithm.RoundRobin, TimeSpan.FromSeconds(10)));

        balancer.Pick(endpoints, s_clientA, 0, out var hit);
        Assert.False(hit);
    }

    [Fact]
    public void Configure_AlgorithmChanged_TakesEffect()
    {
        var balancer = Balancer(BalancingAlgorithm.RoundRobin);
        var endpoints = Endpoints(2);
        balancer.Connected(endpoints[0], s_clientA);

        balancer.Configure(Info(BalancingAlgorithm.LeastConnections, null));

        Assert.Equal(1, balancer.Pick(endpoints, s_clientA, 0, out _));
        Assert.Equal(1, balancer.Pick(endpoints, s_clientA, 0, out _));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Pick_DoesNotAllocate(BalancingAlgorithm algorithm)
    {
        var balancer = Balancer(algorithm, TimeSpan.FromSeconds(10));
        var endpoints = Endpoints(8);
        var sticky = IPAddress.Parse("::ffff:127.0.0.12");
        balancer.Connected(endpoints[3], s_clientA);
        balancer.Connected(endpoints[5], sticky);
        Exercise();

        var before = GC.GetAllocatedBytesForCurrentThread();
        Exercise();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void Exercise()
        {
            for (var n = 0; n < 1000; n++)
            {
                balancer.Pick(endpoints, s_clientA, 0, out _);
                balancer.Pick(endpoints, s_clientB, 0b1010, out _);
                balancer.Pick(endpoints, sticky, 0, out _);
            }
        }
    }

    private static ServiceBalancer Balancer(BalancingAlgorithm algorithm, TimeSpan? affinity = null, TimeProvider? time = null)
    {
        var balancer = new ServiceBalancer(time ?? new FakeTimeProvider());
        balancer.Configure(Info(algorithm, affinity));
        return balancer;
    }

    private static ServicePortInfo Info(BalancingAlgorithm algorithm, TimeSpan? affinity) => new()
    {
        Name = new ServicePortName("ns", "web", "http", TransportProtocol.Tcp),
        Port = 80,
        Algorithm = algorithm,
        AffinityTimeout = affinity,
    };

    private static ImmutableArray<EndpointInfo> Endpoints(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new EndpointInfo(IPAddress.Parse($"127.244.{i / 250}.{i % 250 + 1}"), 8080) { Ready = true, Serving = true })];
}
