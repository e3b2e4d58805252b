using System.Net;
using Berth.Node.Proxy.SessionAffinity;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Node.Tests.Proxy.SessionAffinity;

public class ClientIPAffinityTests
{
    private static readonly IPAddress s_client = IPAddress.Parse("127.0.0.10");
    private static readonly IPEndPoint s_first = new(IPAddress.Parse("127.244.0.1"), 8080);
    private static readonly IPEndPoint s_second = new(IPAddress.Parse("127.244.0.2"), 8080);

    [Fact]
    public void TryGet_ExpiresExactlyAtTheTimeoutSinceTheLastRecord_AndRemovesTheEntry()
    {
        var time = new FakeTimeProvider();
        var table = new ClientIPAffinity(time, TimeSpan.FromSeconds(10800));
        table.Record(s_client, s_first);

        time.Advance(TimeSpan.FromSeconds(10800) - TimeSpan.FromTicks(1));
        Assert.True(table.TryGet(s_client, out var endpoint));
        Assert.Equal(s_first, endpoint);

        time.Advance(TimeSpan.FromTicks(1));
        Assert.False(table.TryGet(s_client, out _));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Record_AnotherEndpoint_ReplacesTheEntryAndRestartsItsTimeout()
    {
        var time = new FakeTimeProvider();
        var table = new ClientIPAffinity(time, TimeSpan.FromSeconds(10));
        table.Record(s_client, s_first);
        time.Advance(TimeSpan.FromSeconds(8));

        table.Record(s_client, s_second);
        time.Advance(TimeSpan.FromSeconds(8));

        Assert.True(table.TryGet(s_client, out var endpoint));
        Assert.Equal(s_second, endpoint);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Sweep_RemovesOnlyExpiredEntries()
    {
        var time = new FakeTimeProvider();
        var table = new ClientIPAffinity(time, TimeSpan.FromSeconds(10));
        table.Record(IPAddress.Parse("127.0.0.1"), s_first);
        time.Advance(TimeSpan.FromSeconds(5));
        table.Record(IPAddress.Parse("127.0.0.2"), s_first);
        time.Advance(TimeSpan.FromSeconds(5));

        table.Sweep();

        Assert.Equal(1, table.Count);
        Assert.True(table.TryGet(IPAddress.Parse("127.0.0.2"), out _));
    }

    [Fact]
    public void Record_ManyOneOffClients_PeriodicSweepKeepsTheTableBounded()
    {
        var time = new FakeTimeProvider();
        var table = new ClientIPAffinity(time, TimeSpan.FromSeconds(10));
        for (var i = 0; i < 1024; i++)
        {
            table.Record(new IPAddress(0x0A000000u + (uint)i), s_first);
        }
        time.Advance(TimeSpan.FromSeconds(10));

        for (var i = 0; i < 1024; i++)
        {
            table.Record(new IPAddress(0x0B000000u + (uint)i), s_first);
        }

        // The 2048th record swept the first 1024, all expired.
        Assert.Equal(1024, table.Count);
    }

    [Fact]
    public void Ctor_NonPositiveTimeout_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClientIPAffinity(new FakeTimeProvider(), TimeSpan.Zero));
    }
}
