using Berth.ApiServer.Allocation;

namespace Berth.ApiServer.Tests.Allocation;

// Ported from upstream pkg/registry/core/service/portallocator/allocator_test.go. Not ported: TestSnapshot and
// TestNewFromSnapshot (RangeAllocation bytes, which Berth does not persist), TestNodePortMetrics,
// TestNodePortAllocatedMetrics and TestMetricsDisabled (Prometheus metrics).
public sealed class PortRangeAllocatorTests
{
    [Fact]
    public void AllocateNext_WholeRange_ThenFullReleaseAndReallocate()
    {
        // TestAllocate
        var pr = PortRange.Parse("10000-10200");
        var r = new PortRangeAllocator(pr);
        Assert.Equal(201, r.Free);
        Assert.Equal(0, r.Used);

        var found = new HashSet<int>();
        while (r.Free > 0)
        {
            var p = r.AllocateNext();
            Assert.True(pr.Contains(p), $"allocated {p} outside {pr}");
            Assert.True(found.Add(p), $"allocated {p} twice");
        }
        AssertFull(r);

        const int Released = 10005;
        Assert.True(r.Release(Released));
        Assert.Equal(1, r.Free);
        Assert.Equal(200, r.Used);
        Assert.Equal(Released, r.AllocateNext());

        Assert.True(r.Release(Released));
        foreach (var port in new[] { 1, 20000, 10201 })
        {
            var e = Assert.Throws<AllocationException>(() => r.Allocate(port));
            Assert.Equal(AllocationErrorKind.NotInRange, e.Kind);
            Assert.Equal("provided port is not in the valid range. The range of valid ports is 10000-10200", e.Message);
        }
        var allocated = Assert.Throws<AllocationException>(() => r.Allocate(10001));
        Assert.Equal(AllocationErrorKind.Allocated, allocated.Kind);
        Assert.Equal("provided port is already allocated", allocated.Message);
        Assert.Equal(1, r.Free);
        Assert.Equal(200, r.Used);

        r.Allocate(Released);
        Assert.Equal(0, r.Free);
        Assert.Equal(201, r.Used);
    }

    [Fact]
    public void AllocateNext_UpperBandFull_StaticBandStillAllocatableByHand()
    {
        // TestAllocateReserved: 129 ports, static band min(max(16, 129/32), 128) = 16.
        var pr = PortRange.Parse("30000-30128");
        var r = new PortRangeAllocator(pr);
        var dynamicOffset = r.StaticBandSize;
        Assert.Equal(16, dynamicOffset);
        for (var i = 0; i < pr.Size - dynamicOffset; i++)
        {
            r.AllocateNext();
        }
        for (var i = dynamicOffset; i < pr.Size; i++)
        {
            Assert.True(r.Has(pr.Base + i), $"port {pr.Base + i} expected to be allocated");
        }
        Assert.Equal(dynamicOffset, r.Free);

        for (var i = 0; i < dynamicOffset; i++)
        {
            r.Allocate(pr.Base + i);
        }
        Assert.Equal(0, r.Free);

        Assert.True(r.Release(30053));
        Assert.Equal(30053, r.AllocateNext());
        Assert.Equal(0, r.Free);
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 10000 })]
    [InlineData(new[] { 10000, 10200 })]
    [InlineData(new[] { 10000, 10099, 10200 })]
    public void GetAllocated_ReturnsExactlyTheAllocatedPorts(int[] ports)
    {
        // TestForEach
        var r = new PortRangeAllocator(PortRange.Parse("10000-10200"));
        foreach (var port in ports)
        {
            r.Allocate(port);
            Assert.True(r.Has(port));
        }

        Assert.Equal(ports, r.GetAllocated());
    }

    [Theory]
    // Test_calculateRangeOffset: min(max(16, size/32), 128).
    [InlineData("default node port range", 30000, 2768, 86)]
    [InlineData("very small node port range", 30000, 10, 0)]
    [InlineData("small node port range (lower boundary)", 30000, 16, 0)]
    [InlineData("small node port range", 30000, 128, 16)]
    [InlineData("medium node port range", 30000, 2048, 64)]
    [InlineData("large node port range (upper boundary)", 30000, 4096, 128)]
    [InlineData("large node port range", 30000, 8192, 128)]
    public void StaticBandSize_Range_AsUpstreamCalculateRangeOffset(string name, int @base, int size, int expected)
    {
        var range = new PortRange(@base, size);

        Assert.Equal(expected, PortRangeAllocator.CalculateRangeOffset(range));
        Assert.True(expected == new PortRangeAllocator(range).StaticBandSize, name);
    }

    [Fact]
    public void AllocateNext_DefaultRange_PicksAboveTheStaticBandFirst()
    {
        var r = new PortRangeAllocator(PortRange.Parse("30000-32767"));

        for (var i = 0; i < 2768 - 86; i++)
        {
            Assert.InRange(r.AllocateNext(), 30086, 32767);
        }
        for (var i = 0; i < 86; i++)
        {
            Assert.InRange(r.AllocateNext(), 30000, 30085);
        }
        AssertFull(r);
    }

    [Fact]
    public void Allocate_DefaultRange_NotInRangeMessageNamesTheRange()
    {
        var r = new PortRangeAllocator(PortRange.Parse("30000+2767"));

        var e = Assert.Throws<AllocationException>(() => r.Allocate(80));

        Assert.Equal("provided port is not in the valid range. The range of valid ports is 30000-32767", e.Message);
    }

    [Fact]
    public void Release_NotAllocatedOrOutOfRange_IsANoOp()
    {
        var r = new PortRangeAllocator(PortRange.Parse("30000-30010"));
        r.Allocate(30000);

        Assert.False(r.Release(30001));
        Assert.False(r.Release(29999));
        Assert.False(r.Release(30011));
        Assert.Equal(1, r.Used);
    }

    private static void AssertFull(PortRangeAllocator r)
    {
        var e = Assert.Throws<AllocationException>(() => r.AllocateNext());
        Assert.Equal(AllocationErrorKind.Full, e.Kind);
        Assert.Equal("range is full", e.Message);
    }
}
