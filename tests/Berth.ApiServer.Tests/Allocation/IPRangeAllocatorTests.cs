using System.Net;
using Berth.ApiServer.Allocation;

namespace Berth.ApiServer.Tests.Allocation;

// Ported from upstream pkg/registry/core/service/ipallocator/bitmap_test.go. Not ported: TestSnapshot and
// TestNewFromSnapshot (RangeAllocation bytes, which Berth does not persist), TestClusterIPMetrics,
// TestClusterIPAllocatedMetrics and TestMetricsDisabled (Prometheus metrics), TestDryRun (the registry does
// dry runs itself, the allocator has no dry-run view).
public sealed class IPRangeAllocatorTests
{
    public static TheoryData<string, string, string, int, string, string[], string> AllocateCases => new()
    {
        {
            "IPv4", "192.168.1.0/24", "IPv4", 254, "192.168.1.5",
            ["192.168.0.1", "192.168.1.0", "192.168.1.255", "192.168.2.2"],
            "192.168.1.1"
        },
        {
            "IPv4 large", "10.0.0.0/15", "IPv4", 131070, "10.0.0.5",
            ["10.0.0.0", "10.15.255.255", "10.255.255.2"],
            "10.0.0.1"
        },
        {
            "IPv6", "2001:db8:1::/48", "IPv6", 65535, "2001:db8:1::5",
            ["2001:db8::1", "2001:db8:1::", "2001:db8:1::1:0", "2001:db8:2::2"],
            "2001:db8:1::1"
        },
    };

    [Theory]
    [MemberData(nameof(AllocateCases))]
    public void AllocateNext_WholeRange_ThenFullReleaseAndReallocate(
        string name, string cidr, string family, int free, string released, string[] outOfRange, string alreadyAllocated)
    {
        // TestAllocate
        var r = new IPRangeAllocator(IPRange.Parse(cidr));
        Assert.Equal(free, r.Free);
        Assert.Equal(cidr, r.Range.ToString());
        Assert.Equal(family, r.Range.Family);
        Assert.Equal(0, r.Used);

        var found = new HashSet<IPAddress>();
        while (r.Free > 0)
        {
            var ip = r.AllocateNext();
            Assert.True(r.Range.Contains(ip), $"{name}: allocated {ip} outside {cidr}");
            Assert.True(found.Add(ip), $"{name}: allocated {ip} twice");
        }
        AssertFull(() => r.AllocateNext());

        var releasedIP = IPAddress.Parse(released);
        Assert.True(r.Release(releasedIP));
        Assert.Equal(1, r.Free);
        Assert.Equal(free - 1, r.Used);
        Assert.Equal(releasedIP, r.AllocateNext());

        Assert.True(r.Release(releasedIP));
        foreach (var ip in outOfRange)
        {
            var e = Assert.Throws<AllocationException>(() => r.Allocate(IPAddress.Parse(ip)));
            Assert.Equal(AllocationErrorKind.NotInRange, e.Kind);
            Assert.Equal($"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {cidr}", e.Message);
        }
        var allocated = Assert.Throws<AllocationException>(() => r.Allocate(IPAddress.Parse(alreadyAllocated)));
        Assert.Equal(AllocationErrorKind.Allocated, allocated.Kind);
        Assert.Equal("provided IP is already allocated", allocated.Message);
        Assert.Equal(1, r.Free);
        Assert.Equal(free - 1, r.Used);

        r.Allocate(releasedIP);
        Assert.Equal(0, r.Free);
        Assert.Equal(free, r.Used);
    }

    [Fact]
    public void AllocateNext_SingleAddressCidr_RangeIsFull()
    {
        // TestAllocateTiny
        var r = new IPRangeAllocator(IPRange.Parse("192.168.1.0/32"));

        Assert.Equal(0, r.Free);
        AssertFull(() => r.AllocateNext());
    }

    [Fact]
    public void AllocateNext_UpperBandFull_StaticBandStillAllocatableByHand()
    {
        // TestAllocateReserved: /25 has 126 addresses, static band min(max(16, 128/16), 256) = 16.
        var r = new IPRangeAllocator(IPRange.Parse("192.168.1.0/25"));
        var dynamicOffset = r.StaticBandSize;
        Assert.Equal(16, dynamicOffset);
        var size = r.Range.Size;
        for (var i = 0; i < size - dynamicOffset; i++)
        {
            r.AllocateNext();
        }
        for (var i = dynamicOffset; i < size; i++)
        {
            Assert.True(r.Has(IPAddress.Parse($"192.168.1.{i + 1}")), $"192.168.1.{i + 1} expected to be allocated");
        }
        Assert.Equal(dynamicOffset, r.Free);

        for (var i = 0; i < dynamicOffset; i++)
        {
            r.Allocate(IPAddress.Parse($"192.168.1.{i + 1}"));
        }
        Assert.Equal(0, r.Free);

        Assert.True(r.Release(IPAddress.Parse("192.168.1.10")));
        Assert.Equal(IPAddress.Parse("192.168.1.10"), r.AllocateNext());
        Assert.Equal(0, r.Free);
    }

    [Fact]
    public void AllocateNext_SlashThirty_TwoAddressesThenAlwaysFull()
    {
        // TestAllocateSmall
        var r = new IPRangeAllocator(IPRange.Parse("192.168.1.240/30"));
        Assert.Equal(2, r.Free);

        var found = new HashSet<IPAddress> { r.AllocateNext(), r.AllocateNext() };

        Assert.Equal(new[] { IPAddress.Parse("192.168.1.241"), IPAddress.Parse("192.168.1.242") }, found.OrderBy(ip => ip.ToString()));
        foreach (var ip in found)
        {
            Assert.True(r.Has(ip));
            Assert.Equal(AllocationErrorKind.Allocated, Assert.Throws<AllocationException>(() => r.Allocate(ip)).Kind);
        }
        for (var i = 0; i < 100; i++)
        {
            AssertFull(() => r.AllocateNext());
        }
        Assert.Equal(0, r.Free);
        Assert.Equal(2, r.Range.Size);
    }

    public static TheoryData<string[]> ForEachCases => new()
    {
        Array.Empty<string>(),
        new[] { "192.168.1.1" },
        new[] { "192.168.1.1", "192.168.1.254" },
        new[] { "192.168.1.1", "192.168.1.128", "192.168.1.254" },
    };

    [Theory]
    [MemberData(nameof(ForEachCases))]
    public void GetAllocated_ReturnsExactlyTheAllocatedAddresses(string[] ips)
    {
        // TestForEach
        var r = new IPRangeAllocator(IPRange.Parse("192.168.1.0/24"));
        foreach (var ip in ips)
        {
            r.Allocate(IPAddress.Parse(ip));
            Assert.True(r.Has(IPAddress.Parse(ip)));
        }

        Assert.Equal(ips, r.GetAllocated().Select(ip => ip.ToString()));
    }

    [Theory]
    // Test_calculateRangeOffset: min(max(16, cidrSize/16), 256), from the CIDR size before the IPv6 cap.
    [InlineData("192.168.1.1/32", 0)]
    [InlineData("fd00::1/128", 0)]
    [InlineData("192.168.1.1/30", 0)]
    [InlineData("fd00::1/126", 0)]
    [InlineData("192.168.1.1/28", 0)]
    [InlineData("192.168.1.1/27", 16)]
    [InlineData("fd00::1/124", 0)]
    [InlineData("fd00::1/122", 16)]
    [InlineData("192.168.1.1/22", 64)]
    [InlineData("fd00::1/118", 64)]
    [InlineData("192.168.1.1/8", 256)]
    [InlineData("fd00::1/12", 256)]
    public void StaticBandSize_Cidr_AsUpstreamCalculateRangeOffset(string cidr, int expected)
    {
        Assert.Equal(expected, IPRangeAllocator.CalculateRangeOffset(IPRange.Parse(cidr)));
        Assert.Equal(expected, new IPRangeAllocator(IPRange.Parse(cidr)).StaticBandSize);
    }

    [Fact]
    public void AllocateNext_SlashSixteen_EveryAddressOnceThenFull()
    {
        var r = new IPRangeAllocator(IPRange.Parse("10.96.0.0/16"));
        var found = new HashSet<IPAddress>();

        for (var i = 0; i < 65534; i++)
        {
            Assert.True(found.Add(r.AllocateNext()));
        }

        Assert.DoesNotContain(IPAddress.Parse("10.96.0.0"), found);
        Assert.DoesNotContain(IPAddress.Parse("10.96.255.255"), found);
        Assert.Equal(0, r.Free);
        AssertFull(() => r.AllocateNext());
    }

    [Fact]
    public void AllocateNext_FreshRange_PicksFromTheUpperBandFirst()
    {
        // A /24 reserves .1-.16 for hand-picked addresses (the kubernetes Service's .1, DNS's .10).
        var r = new IPRangeAllocator(IPRange.Parse("10.96.0.0/24"));
        Assert.Equal(16, r.StaticBandSize);

        for (var i = 0; i < 254 - 16; i++)
        {
            var ip = r.AllocateNext();
            Assert.True(ip.GetAddressBytes()[3] > 16, $"{ip} came from the static band while the upper band had room");
        }
        for (var i = 0; i < 16; i++)
        {
            Assert.InRange(r.AllocateNext().GetAddressBytes()[3], (byte)1, (byte)16);
        }
    }

    [Fact]
    public void AllocateNext_InjectedRandom_DeterministicPick()
    {
        var r = new IPRangeAllocator(IPRange.Parse("10.96.0.0/24"), new BitmapAllocatorTests.FixedRandom(0));

        Assert.Equal(IPAddress.Parse("10.96.0.17"), r.AllocateNext());
        Assert.Equal(IPAddress.Parse("10.96.0.18"), r.AllocateNext());
    }

    [Fact]
    public void Allocate_ServiceCidr_NotInRangeMessageNamesTheRange()
    {
        var r = new IPRangeAllocator(IPRange.Parse("10.96.0.0/12"));

        var e = Assert.Throws<AllocationException>(() => r.Allocate(IPAddress.Parse("1.1.1.1")));

        Assert.Equal(AllocationErrorKind.NotInRange, e.Kind);
        Assert.Equal("the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12", e.Message);
    }

    [Fact]
    public void Release_NotAllocatedOrOutOfRange_IsANoOp()
    {
        var r = new IPRangeAllocator(IPRange.Parse("10.96.0.0/24"));
        r.Allocate(IPAddress.Parse("10.96.0.1"));

        Assert.False(r.Release(IPAddress.Parse("10.96.0.2")));
        Assert.False(r.Release(IPAddress.Parse("10.97.0.1")));
        Assert.False(r.Release(IPAddress.Parse("10.96.0.0")));
        Assert.Equal(1, r.Used);
    }

    private static void AssertFull(Func<IPAddress> allocateNext)
    {
        var e = Assert.Throws<AllocationException>(() => allocateNext());
        Assert.Equal(AllocationErrorKind.Full, e.Kind);
        Assert.Equal("range is full", e.Message);
    }
}
