using System.Globalization;
using System.Net;

namespace Berth.ApiServer.Allocation;

/// <summary>Addresses of a CIDR as an <see cref="IValueRange"/>; values are canonical address strings.</summary>
public sealed class IPValueRange : IValueRange
{
    private readonly IPRangeAllocator _allocator;

    public IPValueRange(IPRange range)
    {
        _allocator = new IPRangeAllocator(range);
    }

    public int Free => _allocator.Free;

    public string AllocatedMessage => "provided IP is already allocated";

    public bool TryMark(string value)
    {
        if (!IPAddress.TryParse(value, out var ip) || !_allocator.Range.Contains(ip))
        {
            return false;
        }
        try
        {
            _allocator.Allocate(ip);
        }
        catch (AllocationException)
        {
            // Already marked: the same value twice is still one allocation.
        }
        return true;
    }

    public void Allocate(string value)
    {
        if (!IPAddress.TryParse(value, out var ip))
        {
            throw new AllocationException(AllocationErrorKind.NotInRange, $"the provided IP ({value}) is not in the valid range. The range of valid IPs is {_allocator.Range}");
        }
        _allocator.Allocate(ip);
    }

    public string AllocateNext() => _allocator.AllocateNext().ToString();

    public void Release(string value)
    {
        if (IPAddress.TryParse(value, out var ip))
        {
            _allocator.Release(ip);
        }
    }

    public override string ToString() => _allocator.Range.ToString();
}

/// <summary>A port range as an <see cref="IValueRange"/>; values are decimal port numbers.</summary>
public sealed class PortValueRange : IValueRange
{
    private readonly PortRangeAllocator _allocator;

    public PortValueRange(PortRange range)
    {
        _allocator = new PortRangeAllocator(range);
    }

    public int Free => _allocator.Free;

    public string AllocatedMessage => "provided port is already allocated";

    public bool TryMark(string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || !_allocator.Range.Contains(port))
        {
            return false;
        }
        try
        {
            _allocator.Allocate(port);
        }
        catch (AllocationException)
        {
            // Already marked: the same value twice is still one allocation.
        }
        return true;
    }

    public void Allocate(string value) =>
        _allocator.Allocate(int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : -1);

    public string AllocateNext() => _allocator.AllocateNext().ToString(CultureInfo.InvariantCulture);

    public void Release(string value)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            _allocator.Release(port);
        }
    }

    public override string ToString() => _allocator.Range.ToString();
}
