using System.Net;

namespace Berth.ApiServer.Allocation;

/// <summary>Why an allocator refused a request.</summary>
public enum AllocationErrorKind
{
    /// <summary>The value lies outside the allocatable range (upstream ErrNotInRange).</summary>
    NotInRange,

    /// <summary>The value is already taken (upstream ErrAllocated).</summary>
    Allocated,

    /// <summary>No value is left (upstream ErrFull).</summary>
    Full,
}

/// <summary>
/// A refused allocation. Messages are upstream's error strings, because the service registry
/// puts them into field errors that clients match on.
/// </summary>
public sealed class AllocationException : Exception
{
    public AllocationException(AllocationErrorKind kind, string message)
        : base(message)
    {
        Kind = kind;
    }

    public AllocationErrorKind Kind { get; }

    // ipallocator ErrNotInRange.Error().
    internal static AllocationException IPNotInRange(IPAddress ip, IPRange range) =>
        new(AllocationErrorKind.NotInRange, $"the provided IP ({IPRange.Format(ip)}) is not in the valid range. The range of valid IPs is {range}");

    // portallocator ErrNotInRange.Error().
    internal static AllocationException PortNotInRange(PortRange range) =>
        new(AllocationErrorKind.NotInRange, $"provided port is not in the valid range. The range of valid ports is {range}");

    internal static AllocationException IPAllocated() => new(AllocationErrorKind.Allocated, "provided IP is already allocated");

    internal static AllocationException PortAllocated() => new(AllocationErrorKind.Allocated, "provided port is already allocated");

    internal static AllocationException RangeFull() => new(AllocationErrorKind.Full, "range is full");
}
