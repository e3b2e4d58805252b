namespace Berth.ApiServer.Allocation;

/// <summary>NodePort allocation in one port range (upstream portallocator.PortAllocator, in memory). Thread-safe.</summary>
public sealed class PortRangeAllocator
{
    private readonly BitmapAllocator _bitmap;

    public PortRangeAllocator(PortRange range, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(range);
        Range = range;
        _bitmap = new BitmapAllocator(range.Size, CalculateRangeOffset(range), random);
    }

    public PortRange Range { get; }

    /// <summary>Ports at the bottom of the range that dynamic allocation uses only once the rest is full.</summary>
    public int StaticBandSize => _bitmap.Offset;

    public int Free => _bitmap.Free;

    public int Used => _bitmap.Used;

    /// <summary>Takes a specific port (a user-set nodePort, or mirroring a stored allocation).</summary>
    /// <exception cref="AllocationException">NotInRange or Allocated.</exception>
    public void Allocate(int port)
    {
        if (!Range.Contains(port))
        {
            throw AllocationException.PortNotInRange(Range);
        }
        if (!_bitmap.Allocate(port - Range.Base))
        {
            throw AllocationException.PortAllocated();
        }
    }

    /// <exception cref="AllocationException">Full.</exception>
    public int AllocateNext() =>
        _bitmap.TryAllocateNext(out var index) ? Range.Base + index : throw AllocationException.RangeFull();

    /// <summary>Frees a port; false (and nothing done) when it was not allocated or is not in the range.</summary>
    public bool Release(int port) => Range.Contains(port) && _bitmap.Release(port - Range.Base);

    public bool Has(int port) => Range.Contains(port) && _bitmap.Has(port - Range.Base);

    /// <summary>The allocated ports in ascending order.</summary>
    public IReadOnlyList<int> GetAllocated() => [.. _bitmap.GetAllocated().Select(index => Range.Base + index)];

    // Upstream portallocator calculateRangeOffset: min(max(16, size/32), 128), 0 for ranges of 16 or fewer ports.
    internal static int CalculateRangeOffset(PortRange range)
    {
        const int Min = 16;
        const int Max = 128;
        const int Step = 32;
        if (range.Size <= Min)
        {
            return 0;
        }
        return Math.Clamp(range.Size / Step, Min, Max);
    }
}
