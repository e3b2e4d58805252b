namespace Berth.ApiServer.Allocation;

/// <summary>The in-memory side of an <see cref="AllocationPool"/>: a range of values as strings, with upstream's errors.</summary>
public interface IValueRange
{
    /// <summary>Free values left.</summary>
    int Free { get; }

    /// <summary>Upstream's "already allocated" message for this kind of value.</summary>
    string AllocatedMessage { get; }

    /// <summary>Marks a value found in the store; false when it is malformed or outside the range.</summary>
    bool TryMark(string value);

    /// <summary>Takes a specific value; throws <see cref="AllocationException"/>.</summary>
    void Allocate(string value);

    /// <summary>Takes any free value; throws <see cref="AllocationException"/> when full.</summary>
    string AllocateNext();

    void Release(string value);
}
