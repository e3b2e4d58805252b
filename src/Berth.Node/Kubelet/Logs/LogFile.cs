using Microsoft.Win32.SafeHandles;

namespace Berth.Node.Kubelet.Logs;

// One open CRI log file read forward from an offset, record by record. The handle keeps reading the same
// file after the writer renames or deletes it in a rotation.
internal sealed class LogFile : IDisposable
{
    // Enough of the first record (timestamp, stream, tag, start of content) to tell one log file from another.
    private const int IdentityLength = 256;

    private readonly SafeFileHandle _handle;
    // Allocated on first read: a LogFile opened only to compare identities never needs it.
    private byte[] _buffer = [];
    private int _start;
    private int _end;
    private byte[]? _identity;

    private LogFile(SafeFileHandle handle) => _handle = handle;

    public long Offset { get; set; }

    public long Length => RandomAccess.GetLength(_handle);

    public static LogFile? TryOpen(string path)
    {
        try
        {
            return new LogFile(File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// The file's first record (or as much of it as exists): a rotation renames the file, so this, not the
    /// path, says which file is which. Empty while the file is.
    /// </summary>
    public byte[] Identity()
    {
        if (_identity is not null)
        {
            return _identity;
        }
        var head = new byte[IdentityLength];
        var n = RandomAccess.Read(_handle, head, 0);
        var eol = head.AsSpan(0, n).IndexOf((byte)'\n');
        var identity = head.AsSpan(0, eol < 0 ? n : eol + 1).ToArray();
        // Cache only once complete: a first record still being written would otherwise stay truncated.
        if (eol >= 0 || n == IdentityLength)
        {
            _identity = identity;
        }
        return identity;
    }

    public bool IsSameFile(LogFile other)
    {
        var mine = Identity();
        return mine.Length > 0 && mine.AsSpan().SequenceEqual(other.Identity());
    }

    /// <summary>Reads to the current end of the file, handing each complete record (without '\n') to the sink.</summary>
    public async Task DrainAsync(LogSink sink, CancellationToken ct)
    {
        while (!sink.Done)
        {
            if (_buffer.Length == 0)
            {
                _buffer = new byte[64 * 1024];
            }
            else if (_end == _buffer.Length)
            {
                if (_start > 0)
                {
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                    _end -= _start;
                    _start = 0;
                }
                else
                {
                    // A record longer than the buffer: only a foreign writer makes one, so grow rather than split it.
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }
            }
            var n = await RandomAccess.ReadAsync(_handle, _buffer.AsMemory(_end), Offset, ct).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }
            Offset += n;
            _end += n;
            Split(sink);
            await sink.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Hands over a last record that has no newline (upstream parses it too: "Incomplete line in log file").</summary>
    public async Task FinishAsync(LogSink sink, CancellationToken ct)
    {
        if (_end > _start)
        {
            sink.Accept(_buffer.AsSpan(_start, _end - _start), terminated: false);
            _start = _end = 0;
            await sink.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    public void Dispose() => _handle.Dispose();

    private void Split(LogSink sink)
    {
        while (!sink.Done)
        {
            var eol = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (eol < 0)
            {
                break;
            }
            sink.Accept(_buffer.AsSpan(_start, eol), terminated: true);
            _start += eol + 1;
        }
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    /// <summary>
    /// Where the last <paramref name="lines"/> lines of the chain start: (index of the file, offset in it).
    /// A line is one or more P records closed by an F record; upstream's tail.FindTailLineStartIndex counts
    /// newlines instead, which would split a long line rejoined from partials.
    /// </summary>
    public static (int File, long Offset) FindTailStart(IReadOnlyList<LogFile> chain, long lines)
    {
        var head = new byte[CriLog.MaxHeaderLength];
        var block = new byte[64 * 1024];
        long full = 0;
        for (var fi = chain.Count - 1; fi >= 0; fi--)
        {
            var handle = chain[fi]._handle;
            var length = RandomAccess.GetLength(handle);
            // Walk record starts from the end; nextStart is where the record being examined ends (+1).
            var nextStart = length;
            for (var right = length; ; right -= block.Length)
            {
                var left = Math.Max(0, right - block.Length);
                var span = block.AsSpan(0, (int)(right - left));
                RandomAccess.Read(handle, span, left);
                for (var i = span.Length - 1; i >= -1; i--)
                {
                    if (i >= 0 && span[i] != '\n')
                    {
                        continue;
                    }
                    if (i < 0 && left > 0)
                    {
                        break;
                    }
                    var start = left + i + 1;
                    if (start >= nextStart)
                    {
                        continue;
                    }
                    // Most headers lie inside the block already read; only one cut by the block's end is read again.
                    var at = (int)(start - left);
                    var record = at + CriLog.MaxHeaderLength <= span.Length
                        ? span.Slice(at, CriLog.MaxHeaderLength)
                        : head.AsSpan(0, RandomAccess.Read(handle, head, start));
                    var eol = record.IndexOf((byte)'\n');
                    if (CriLog.TryParseRecord(eol < 0 ? record : record[..eol], out _, out _, out var partial, out _) && !partial)
                    {
                        // The (lines+1)-th full record from the end closes the line before the tail.
                        if (++full == lines + 1)
                        {
                            return (fi, nextStart);
                        }
                    }
                    nextStart = start;
                }
                if (left == 0)
                {
                    break;
                }
            }
        }
        return (0, 0);
    }
}
