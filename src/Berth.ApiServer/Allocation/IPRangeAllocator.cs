using System.Net;

namespace Berth.ApiServer.Allocation;

/// <summary>ClusterIP allocation in one service CIDR (upstream ipallocator.Range, in memory). Thread-safe.</summary>
public sealed class IPRangeAllocator
{
    private readonly BitmapAllocator _bitmap;

    public IPRangeAllocator(IPRange range, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(range);
        Range = range;
        _bitmap = new BitmapAllocator(range.Size, CalculateRangeOffset(range), random);
    }

    public IPRange Range { get; }

    /// <summary>Addresses at the bottom of the range that dynamic allocation uses only once the rest is full.</summary>
    public int StaticBandSize => _bitmap.Offset;

    public int Free => _bitmap.Free;

    public int Used => _bitmap.Used;

    /// <summary>Takes a specific address (a user-set spec.clusterIP, or mirroring a stored allocation).</summary>
    /// <exception cref="AllocationException">NotInRange or Allocated.</exception>
    public void Allocate(IPAddress ip)
    {
        var index = Range.IndexOf(ip);
        if (index < 0)
        {
            throw AllocationException.IPNotInRange(ip, Range);
        }
        if (!_bitmap.Allocate(index))
        {
            throw AllocationException.IPAllocated();
        }
    }

    /// <exception cref="AllocationException">Full.</exception>
    public IPAddress AllocateNext() =>
        _bitmap.TryAllocateNext(out var index) ? Range.AddressAt(index) : throw AllocationException.RangeFull();

    /// <summary>Frees an address; false (and nothing done) when it was not allocated or is not in the range.</summary>
    public bool Release(IPAddress ip)
    {
        var index = Range.IndexOf(ip);
        return index >= 0 && _bitmap.Release(index);
    }

    public bool Has(IPAddress ip)
    {
        var index = Range.IndexOf(ip);
        return index >= 0 && _bitmap.Has(index);
    }

    /// <summary>The allocated addresses in ascending order.</summary>
    public IReadOnlyList<IPAddress> GetAllocated() => [.. _bitmap.GetAllocated().Select(Range.AddressAt)];

    // Upstream ipallocator calculateRangeOffset: min(max(16, cidrSize/16), 256), 0 for CIDRs of 16 or fewer
    // addresses. It reads the CIDR size, not the allocatable size, so IPv6 ranges get 256 before the cap.
    internal static int CalculateRangeOffset(IPRange range)
    {
        const int Min = 16;
        const int Max = 256;
        const int Step = 16;
        var cidrSize = range.CidrSize;
        if (cidrSize <= Min)
        {
            return 0;
        }
        return (int)Math.Clamp(cidrSize / Step, Min, Max);
    }
}
