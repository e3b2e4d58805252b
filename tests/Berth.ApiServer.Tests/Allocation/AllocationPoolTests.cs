using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Berth.ApiServer.Allocation;

namespace Berth.ApiServer.Tests.Allocation;

/// <summary>
/// The persisted pool over a real SQLite store: one key per allocated value, created only if absent, so the store
/// (not a process's memory) decides who gets a value, and what was allocated survives a restart.
/// </summary>
public sealed class AllocationPoolTests : IAsyncLifetime
{
    private static readonly AllocationOwner s_alice = new("default", "alice", "uid-alice");
    private static readonly AllocationOwner s_bob = new("default", "bob", "uid-bob");

    private TempStore _store = null!;

    public async Task InitializeAsync() => _store = await TempStore.OpenAsync();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private AllocationPool IPPool(string cidr = "10.0.0.0/23") => new("serviceips", _store.Store, new IPValueRange(IPRange.Parse(cidr)));

    private AllocationPool PortPool(string range = "30000-30009") => new("nodeports/TCP", _store.Store, new PortValueRange(PortRange.Parse(range)));

    private async Task<JsonNode?> KeyAsync(string key)
    {
        var item = await _store.Store.GetAsync(key);
        return item is null ? null : JsonNode.Parse(item.Value.Span);
    }

    [Fact]
    public async Task AllocateAsync_Specific_WritesOneKeyHoldingTheOwner()
    {
        var pool = IPPool();
        var free = pool.Free;

        await pool.AllocateAsync("10.0.0.5", s_alice, dryRun: false, CancellationToken.None);

        var key = await KeyAsync("/berth/allocations/serviceips/10.0.0.5");
        Assert.NotNull(key);
        Assert.Equal("default", key["namespace"]!.GetValue<string>());
        Assert.Equal("alice", key["name"]!.GetValue<string>());
        Assert.Equal("uid-alice", key["uid"]!.GetValue<string>());
        Assert.Equal(s_alice, pool.OwnerOf("10.0.0.5"));
        Assert.Equal(free - 1, pool.Free);
    }

    [Fact]
    public async Task AllocateNextAsync_WritesTheKeyOfTheValueItReturns()
    {
        var pool = PortPool();

        var value = await pool.AllocateNextAsync(s_alice, dryRun: false, CancellationToken.None);

        Assert.InRange(int.Parse(value, System.Globalization.CultureInfo.InvariantCulture), 30000, 30009);
        Assert.NotNull(await KeyAsync("/berth/allocations/nodeports/TCP/" + value));
        Assert.Equal(s_alice, pool.OwnerOf(value));
    }

    public static TheoryData<string, string, AllocationErrorKind, string> RefusedCases => new()
    {
        { "ip", "10.0.0.5", AllocationErrorKind.Allocated, "provided IP is already allocated" },
        { "ip", "10.0.5.5", AllocationErrorKind.NotInRange, "the provided IP (10.0.5.5) is not in the valid range. The range of valid IPs is 10.0.0.0/23" },
        { "ip", "10.0.0.0", AllocationErrorKind.NotInRange, "the provided IP (10.0.0.0) is not in the valid range. The range of valid IPs is 10.0.0.0/23" },
        { "port", "30005", AllocationErrorKind.Allocated, "provided port is already allocated" },
        { "port", "30010", AllocationErrorKind.NotInRange, "provided port is not in the valid range. The range of valid ports is 30000-30009" },
        { "port", "80", AllocationErrorKind.NotInRange, "provided port is not in the valid range. The range of valid ports is 30000-30009" },
    };

    [Theory]
    [MemberData(nameof(RefusedCases))]
    public async Task AllocateAsync_TakenOrOutOfRange_ThrowsUpstreamMessageAndWritesNothing(string kind, string value, AllocationErrorKind expectedKind, string expectedMessage)
    {
        var pool = kind == "ip" ? IPPool() : PortPool();
        await pool.AllocateAsync(kind == "ip" ? "10.0.0.5" : "30005", s_alice, dryRun: false, CancellationToken.None);
        var keysBefore = (await _store.Store.ListAsync(pool.Prefix)).Items.Count;

        var e = await Assert.ThrowsAsync<AllocationException>(() => pool.AllocateAsync(value, s_bob, dryRun: false, CancellationToken.None));

        Assert.Equal(expectedKind, e.Kind);
        Assert.Equal(expectedMessage, e.Message);
        Assert.Equal(keysBefore, (await _store.Store.ListAsync(pool.Prefix)).Items.Count);
    }

    [Fact]
    public async Task AllocateNextAsync_RangeFull_ThrowsFull()
    {
        // A /30 has two usable addresses (network and broadcast are never handed out).
        var pool = IPPool("10.0.0.0/30");
        await pool.AllocateNextAsync(s_alice, dryRun: false, CancellationToken.None);
        await pool.AllocateNextAsync(s_alice, dryRun: false, CancellationToken.None);

        var e = await Assert.ThrowsAsync<AllocationException>(() => pool.AllocateNextAsync(s_bob, dryRun: false, CancellationToken.None));

        Assert.Equal(AllocationErrorKind.Full, e.Kind);
        Assert.Equal("range is full", e.Message);
        Assert.Equal(0, pool.Free);
    }

    [Fact]
    public async Task AllocateAsync_DryRun_TakesNothing()
    {
        var pool = IPPool();
        var free = pool.Free;

        await pool.AllocateAsync("10.0.0.5", s_alice, dryRun: true, CancellationToken.None);
        var next = await pool.AllocateNextAsync(s_alice, dryRun: true, CancellationToken.None);

        Assert.True(IPRange.Parse("10.0.0.0/23").Contains(System.Net.IPAddress.Parse(next)));
        Assert.Empty((await _store.Store.ListAsync(pool.Prefix)).Items);
        Assert.Null(pool.OwnerOf("10.0.0.5"));
        Assert.Null(pool.OwnerOf(next));
        Assert.Equal(free, pool.Free);
        // Nothing was held, so a real allocation of the same values succeeds.
        await pool.AllocateAsync("10.0.0.5", s_bob, dryRun: false, CancellationToken.None);
        await pool.AllocateAsync(next, s_bob, dryRun: false, CancellationToken.None);
    }

    [Fact]
    public async Task AllocateAsync_DryRunOfTakenValue_StillRefused()
    {
        var pool = IPPool();
        await pool.AllocateAsync("10.0.0.5", s_alice, dryRun: false, CancellationToken.None);

        var e = await Assert.ThrowsAsync<AllocationException>(() => pool.AllocateAsync("10.0.0.5", s_bob, dryRun: true, CancellationToken.None));

        Assert.Equal(AllocationErrorKind.Allocated, e.Kind);
        Assert.Equal(s_alice, pool.OwnerOf("10.0.0.5"));
    }

    [Fact]
    public async Task ReleaseAsync_ByOwner_DeletesKeyAndValueIsReusableAtOnce()
    {
        var pool = IPPool();
        await pool.AllocateAsync("10.0.0.5", s_alice, dryRun: false, CancellationToken.None);
        var free = pool.Free;

        await pool.ReleaseAsync("10.0.0.5", s_alice, CancellationToken.None);

        Assert.Null(await KeyAsync("/berth/allocations/serviceips/10.0.0.5"));
        Assert.Null(pool.OwnerOf("10.0.0.5"));
        Assert.Equal(free + 1, pool.Free);
        await pool.AllocateAsync("10.0.0.5", s_bob, dryRun: false, CancellationToken.None);
        Assert.Equal("uid-bob", (await KeyAsync("/berth/allocations/serviceips/10.0.0.5"))!["uid"]!.GetValue<string>());
    }

    [Fact]
    public async Task ReleaseAsync_ByAnotherUid_IsNoOp()
    {
        var pool = IPPool();
        await pool.AllocateAsync("10.0.0.5", s_alice, dryRun: false, CancellationToken.None);
        // Same namespace and name, different uid: a re-created Service must not free its predecessor's value.
        var successor = s_alice with { Uid = "uid-alice-2" };

        await pool.ReleaseAsync("10.0.0.5", successor, CancellationToken.None);

        Assert.NotNull(await KeyAsync("/berth/allocations/serviceips/10.0.0.5"));
        Assert.Equal(s_alice, pool.OwnerOf("10.0.0.5"));
        var e = await Assert.ThrowsAsync<AllocationException>(() => pool.AllocateAsync("10.0.0.5", s_bob, dryRun: false, CancellationToken.None));
        Assert.Equal(AllocationErrorKind.Allocated, e.Kind);
    }

    [Fact]
    public async Task ReleaseAsync_NotAllocated_IsNoOp()
    {
        var pool = IPPool();
        var free = pool.Free;

        await pool.ReleaseAsync("10.0.0.5", s_alice, CancellationToken.None);

        Assert.Equal(free, pool.Free);
        Assert.Empty((await _store.Store.ListAsync(pool.Prefix)).Items);
    }

    [Fact]
    public async Task LoadAsync_AfterReopen_SeesPersistedValuesAsTaken()
    {
        var before = IPPool();
        await before.AllocateAsync("10.0.0.5", s_alice, dryRun: false, CancellationToken.None);
        var next = await before.AllocateNextAsync(s_bob, dryRun: false, CancellationToken.None);

        await _store.ReopenAsync();
        var after = IPPool();
        var freeBeforeLoad = after.Free;
        await after.LoadAsync(CancellationToken.None);

        Assert.Equal(freeBeforeLoad - 2, after.Free);
        Assert.Equal(s_alice, after.OwnerOf("10.0.0.5"));
        Assert.Equal(s_bob, after.OwnerOf(next));
        Assert.Equal([("10.0.0.5", s_alice), (next, s_bob)], after.Snapshot().OrderBy(a => a.Value == "10.0.0.5" ? 0 : 1));
        var e = await Assert.ThrowsAsync<AllocationException>(() => after.AllocateAsync(next, s_alice, dryRun: false, CancellationToken.None));
        Assert.Equal("provided IP is already allocated", e.Message);
    }

    [Fact]
    public async Task LoadAsync_KeyOutsideTheRange_KeepsTheKeyButDoesNotCountIt()
    {
        // Written under a wider range (the flag changed since): not ours to hand out, not ours to delete either.
        await IPPool("10.0.0.0/16").AllocateAsync("10.0.9.9", s_alice, dryRun: false, CancellationToken.None);
        var pool = IPPool();
        var free = pool.Free;

        await pool.LoadAsync(CancellationToken.None);

        Assert.Equal(free, pool.Free);
        Assert.Null(pool.OwnerOf("10.0.9.9"));
        Assert.NotNull(await KeyAsync("/berth/allocations/serviceips/10.0.9.9"));
    }

    [Fact]
    public async Task AllocateAsync_ValueHeldThroughAnotherPoolOfTheSameStore_IsRefusedByTheStore()
    {
        // Two API servers over one store: b's memory does not know a's value, the store's create-if-absent does.
        var a = IPPool();
        var b = IPPool();
        await a.AllocateAsync("10.0.0.5", s_alice, dryRun: false, CancellationToken.None);

        var e = await Assert.ThrowsAsync<AllocationException>(() => b.AllocateAsync("10.0.0.5", s_bob, dryRun: false, CancellationToken.None));

        Assert.Equal(AllocationErrorKind.Allocated, e.Kind);
        Assert.Equal("provided IP is already allocated", e.Message);
        Assert.Equal("uid-alice", (await KeyAsync("/berth/allocations/serviceips/10.0.0.5"))!["uid"]!.GetValue<string>());
        // b learnt who holds it, so it never offers it again.
        Assert.Equal(s_alice, b.OwnerOf("10.0.0.5"));
    }

    [Fact]
    public async Task AllocateNextAsync_TwoPoolsOfTheSameStoreConcurrently_NeverHandOutAValueTwice()
    {
        // 510 usable addresses in a /23, 600 requests: every address goes to exactly one caller, the rest find it full.
        var pools = new[] { IPPool(), IPPool() };
        var owners = new[] { s_alice, s_bob };
        var won = new ConcurrentBag<(string Value, AllocationOwner Owner)>();
        var full = new ConcurrentBag<AllocationException>();

        await Task.WhenAll(Enumerable.Range(0, 600).Select(i => Task.Run(async () =>
        {
            try
            {
                won.Add((await pools[i % 2].AllocateNextAsync(owners[i % 2], dryRun: false, CancellationToken.None), owners[i % 2]));
            }
            catch (AllocationException e)
            {
                full.Add(e);
            }
        })));

        Assert.Equal(510, won.Count);
        Assert.Equal(510, won.Select(w => w.Value).Distinct().Count());
        Assert.Equal(90, full.Count);
        Assert.All(full, e => Assert.Equal((AllocationErrorKind.Full, "range is full"), (e.Kind, e.Message)));
        var keys = (await _store.Store.ListAsync(pools[0].Prefix)).Items;
        Assert.Equal(510, keys.Count);
        // The key of every value names the caller that was told it got it.
        var holders = keys.ToDictionary(k => k.Key[pools[0].Prefix.Length..], k => JsonNode.Parse(k.Value.Span)!["uid"]!.GetValue<string>());
        Assert.All(won, w => Assert.Equal(w.Owner.Uid, holders[w.Value]));
    }
}
