using Berth.ApiServer.Allocation;

namespace Berth.ApiServer.Tests.Allocation;

// Ported from upstream pkg/registry/core/service/allocator/bitmap_test.go. TestSnapshotAndRestore is not
// ported: it round-trips the bitmap through RangeAllocation bytes, which Berth does not persist.
public sealed class BitmapAllocatorTests
{
    // Upstream's shared table: (name, max, reserved).
    public static TheoryData<string, int, int> Configurations => new()
    {
        { "NewAllocationMap", 32, 0 },
        { "NewAllocationMapWithOffset max < 16", 8, 0 },
        { "NewAllocationMapWithOffset max > 16", 128, 16 },
        { "NewAllocationMapWithOffset max > 256", 1024, 64 },
        { "NewAllocationMapWithOffset max value", 65535, 256 },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void TryAllocateNext_EmptyMap_TakesOne(string name, int max, int reserved)
    {
        var m = new BitmapAllocator(max, reserved);

        Assert.True(m.TryAllocateNext(out _), name);
        Assert.Equal(1, m.Used);
        Assert.Equal(max - 1, m.Free);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Allocate_EveryIndex_ThenFullAndMaxOutOfRange(string name, int max, int reserved)
    {
        var m = new BitmapAllocator(max, reserved);
        for (var i = 0; i < max; i++)
        {
            Assert.True(m.Allocate(i), $"{name}: {i}");
        }

        Assert.False(m.TryAllocateNext(out _));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => m.Allocate(max));
        Assert.StartsWith($"offset {max} out of range [0,{max}]", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, m.Free);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void TryAllocateNext_MaxTimes_ThenFull(string name, int max, int reserved)
    {
        var m = new BitmapAllocator(max, reserved);
        for (var i = 0; i < max; i++)
        {
            Assert.True(m.TryAllocateNext(out _), $"{name}: {i}");
        }

        Assert.False(m.TryAllocateNext(out _));
        Assert.Equal(0, m.Free);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Allocate_Twice_SecondFails(string name, int max, int reserved)
    {
        var m = new BitmapAllocator(max, reserved);

        Assert.True(m.Allocate(3), name);
        Assert.False(m.Allocate(3), name);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Release_Allocated_NoLongerHas(string name, int max, int reserved)
    {
        var m = new BitmapAllocator(max, reserved);
        Assert.True(m.Allocate(3), name);
        Assert.True(m.Has(3));

        Assert.True(m.Release(3));

        Assert.False(m.Has(3));
        Assert.False(m.Release(3));
        Assert.Equal(max, m.Free);
    }

    public static TheoryData<string, int, int, int[]> ForEachCases()
    {
        var data = new TheoryData<string, int, int, int[]>();
        foreach (var row in Configurations)
        {
            var (name, max, reserved) = ((string)row[0], (int)row[1], (int)row[2]);
            foreach (var set in new[] { Array.Empty<int>(), [0], [0, 2, 5], [0, 1, 2, 3, 4, 5, 6, 7] })
            {
                data.Add(name, max, reserved, set);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ForEachCases))]
    public void GetAllocated_ReturnsExactlyTheAllocatedIndexes(string name, int max, int reserved, int[] indexes)
    {
        var m = new BitmapAllocator(max, reserved);
        foreach (var index in indexes)
        {
            Assert.True(m.Allocate(index), $"{name}: {index}");
            Assert.True(m.Has(index));
        }

        Assert.Equal(indexes, m.GetAllocated());
    }

    [Fact]
    public void TryAllocateNext_WithOffset_FillsUpperBandBeforeTheStaticBand()
    {
        // TestAllocateMax_BitmapReserved
        const int Max = 128;
        const int DynamicOffset = 16;
        var m = new BitmapAllocator(Max, DynamicOffset);
        for (var i = 0; i < Max - DynamicOffset; i++)
        {
            Assert.True(m.TryAllocateNext(out var index));
            Assert.InRange(index, DynamicOffset, Max - 1);
        }
        Assert.Equal(DynamicOffset, m.Free);
        for (var i = 0; i < DynamicOffset; i++)
        {
            Assert.False(m.Has(i), $"{i} allocated");
        }

        Assert.True(m.TryAllocateNext(out var fromStatic));

        Assert.InRange(fromStatic, 0, DynamicOffset - 1);
        Assert.Equal(Max - DynamicOffset + 1, m.Used);
        Assert.Equal(DynamicOffset - 1, m.Free);
    }

    [Fact]
    public void TryAllocateNext_OnlyOneStaticIndexFree_TakesItThenFull()
    {
        // TestPreAllocateReservedFull_BitmapReserved
        const int Max = 128;
        const int DynamicOffset = 16;
        var m = new BitmapAllocator(Max, DynamicOffset);
        for (var i = DynamicOffset; i < Max; i++)
        {
            Assert.True(m.Allocate(i));
        }
        for (var i = 0; i < DynamicOffset - 1; i++)
        {
            Assert.True(m.Allocate(i));
        }
        Assert.Equal(1, m.Free);

        Assert.True(m.TryAllocateNext(out var last));

        Assert.Equal(DynamicOffset - 1, last);
        Assert.Equal(0, m.Free);
        Assert.False(m.TryAllocateNext(out _));
        Assert.Equal(Max, m.Used);
    }

    [Fact]
    public void TryAllocateNext_BothBands_EveryIndexOnce()
    {
        // TestAllocateUniqueness
        const int Max = 128;
        var m = new BitmapAllocator(Max, 16);
        var seen = new HashSet<int>();
        for (var i = 0; i < Max; i++)
        {
            Assert.True(m.TryAllocateNext(out var index));
            Assert.True(seen.Add(index), $"{index} handed out twice");
        }

        Assert.Equal(Max, seen.Count);
    }

    [Fact]
    public void TryAllocateNext_RandomStart_ScansForwardAndWrapsWithinTheUpperBand()
    {
        // The random pick is an offset into the upper band; taken indexes are skipped forward, wrapping to the band start.
        var m = new BitmapAllocator(32, 16, new FixedRandom(15));
        Assert.True(m.Allocate(31));

        Assert.True(m.TryAllocateNext(out var wrapped));
        Assert.True(m.TryAllocateNext(out var next));

        Assert.Equal(16, wrapped);
        Assert.Equal(17, next);
    }

    [Fact]
    public void TryAllocateNext_ConcurrentCallers_NeverShareAnIndex()
    {
        const int Max = 4096;
        var m = new BitmapAllocator(Max, 128);
        var taken = new int[Max];

        Parallel.For(0, Max, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            Assert.True(m.TryAllocateNext(out var index));
            Interlocked.Increment(ref taken[index]);
        });

        Assert.All(taken, count => Assert.Equal(1, count));
        Assert.Equal(0, m.Free);
    }

    [Theory]
    [InlineData(10, 10)]
    [InlineData(10, -1)]
    [InlineData(0, 1)]
    public void Constructor_StaticBandNotSmallerThanTheMap_Throws(int size, int offset)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BitmapAllocator(size, offset));
    }

    [Fact]
    public void EmptyMap_IsFullFromTheStart()
    {
        var m = new BitmapAllocator(0);

        Assert.False(m.TryAllocateNext(out _));
        Assert.False(m.Has(0));
        Assert.False(m.Release(0));
        Assert.Equal(0, m.Free);
    }

    /// <summary>A random source that always draws the same value (clamped to the bound asked for).</summary>
    internal sealed class FixedRandom(int value) : Random
    {
        public override int Next(int maxValue) => maxValue == 0 ? 0 : Math.Min(value, maxValue - 1);
    }
}
