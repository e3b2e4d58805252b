using System.Diagnostics;
using System.Numerics;

namespace Berth.ApiServer.Allocation;

/// <summary>
/// A set of indexes [0, Size) with one bit each, split at <see cref="Offset"/> into a static band
/// [0, Offset) and a dynamic band [Offset, Size). Dynamic allocation picks from the dynamic band first
/// so that values users ask for by hand (low ClusterIPs, low NodePorts) stay free as long as possible
/// (KEP-3070/3668; upstream allocator.NewAllocationMapWithOffset). Thread-safe.
/// </summary>
public sealed class BitmapAllocator
{
    private readonly Lock _lock = new();
    private readonly ulong[] _words;
    private readonly Random _random;
    private int _count;

    /// <param name="size">Number of indexes.</param>
    /// <param name="offset">Size of the static band; smaller than <paramref name="size"/> unless both are 0.</param>
    /// <param name="random">Source of the random starting points; shared random when null.</param>
    public BitmapAllocator(int size, int offset = 0, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        // Upstream requires the offset to be smaller than the bitmap: the dynamic band must not be empty.
        if (offset < 0 || (size == 0 ? offset != 0 : offset >= size))
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"the static band must be smaller than the bitmap size {size}");
        }
        Size = size;
        Offset = offset;
        _random = random ?? Random.Shared;
        _words = new ulong[(size + 63) / 64];
    }

    public int Size { get; }

    public int Offset { get; }

    public int Free
    {
        get
        {
            lock (_lock)
            {
                return Size - _count;
            }
        }
    }

    public int Used
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Takes <paramref name="index"/>; false when it is already taken.</summary>
    public bool Allocate(int index)
    {
        if ((uint)index >= (uint)Size)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"offset {index} out of range [0,{Size}]");
        }
        lock (_lock)
        {
            if (IsSet(index))
            {
                return false;
            }
            Set(index);
            _count++;
            return true;
        }
    }

    /// <summary>
    /// Takes a free index: a random start in the dynamic band, scanning forward and wrapping within it;
    /// only when that band is full, the same in the static band (upstream randomScanStrategyWithOffset).
    /// </summary>
    public bool TryAllocateNext(out int index)
    {
        lock (_lock)
        {
            if (_count >= Size)
            {
                index = 0;
                return false;
            }
            index = FindFreeFrom(Offset, Size, Offset + _random.Next(Size - Offset));
            if (index < 0)
            {
                index = FindFreeFrom(0, Offset, _random.Next(Offset));
            }
            Debug.Assert(index >= 0, "a free index exists whenever count < size");
            Set(index);
            _count++;
            return true;
        }
    }

    /// <summary>Frees <paramref name="index"/>; false when it was not taken (or is outside the bitmap).</summary>
    public bool Release(int index)
    {
        if ((uint)index >= (uint)Size)
        {
            return false;
        }
        lock (_lock)
        {
            if (!IsSet(index))
            {
                return false;
            }
            _words[index >> 6] &= ~(1UL << index);
            _count--;
            return true;
        }
    }

    public bool Has(int index)
    {
        if ((uint)index >= (uint)Size)
        {
            return false;
        }
        lock (_lock)
        {
            return IsSet(index);
        }
    }

    /// <summary>The taken indexes in ascending order, copied under the lock.</summary>
    public IReadOnlyList<int> GetAllocated()
    {
        lock (_lock)
        {
            var result = new int[_count];
            var n = 0;
            for (var w = 0; w < _words.Length; w++)
            {
                var word = _words[w];
                while (word != 0)
                {
                    result[n++] = (w << 6) + BitOperations.TrailingZeroCount(word);
                    word &= word - 1;
                }
            }
            return result;
        }
    }

    private bool IsSet(int index) => (_words[index >> 6] & (1UL << index)) != 0;

    private void Set(int index) => _words[index >> 6] |= 1UL << index;

    // First free index in [start, end), else in [begin, start): a scan from start that wraps within the band.
    private int FindFreeFrom(int begin, int end, int start)
    {
        var found = FindFree(start, end);
        return found >= 0 ? found : FindFree(begin, start);
    }

    // First free index in [from, to), a word at a time; -1 when there is none.
    private int FindFree(int from, int to)
    {
        var i = from;
        while (i < to)
        {
            var w = i >> 6;
            var free = ~_words[w] & (ulong.MaxValue << i);
            if (free != 0)
            {
                var found = (w << 6) + BitOperations.TrailingZeroCount(free);
                return found < to ? found : -1;
            }
            i = (w + 1) << 6;
        }
        return -1;
    }
}
