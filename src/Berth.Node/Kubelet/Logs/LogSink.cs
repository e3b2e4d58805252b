using System.Buffers;

namespace Berth.Node.Kubelet.Logs;

// Turns CRI records into the bytes `kubectl logs` shows (upstream logs.go logWriter): P records are
// rejoined into one line, --timestamps prefixes each line, sinceTime drops older lines, limitBytes cuts
// the output, and a non-follow tail stops after that many lines.
internal sealed class LogSink(LogOptions options, Stream output)
{
    private readonly ArrayBufferWriter<byte> _pending = new(64 * 1024);
    private long _remaining = options.LimitBytes ?? long.MaxValue;
    private long _linesLeft = options.TailLines is { } tail && !options.Follow ? tail : long.MaxValue;
    private bool _inLine;
    private bool _skipLine;

    public bool Done { get; private set; } = options.LimitBytes == 0 || (options.TailLines == 0 && !options.Follow);

    public void Accept(ReadOnlySpan<byte> record, bool terminated)
    {
        if (Done || !CriLog.TryParseRecord(record, out var timestamp, out _, out var partial, out var contentStart))
        {
            // Upstream logs and skips a line it cannot parse.
            return;
        }
        if (!_inLine)
        {
            // A rejoined line is judged and stamped by its first record.
            _skipLine = options.SinceTime is { } since && timestamp < since;
            if (!_skipLine && options.Timestamps)
            {
                Span<byte> stamp = stackalloc byte[CriLog.MaxHeaderLength];
                var n = CriLog.FormatTimestampOut(timestamp, stamp);
                stamp[n++] = (byte)' ';
                Emit(stamp[..n]);
            }
        }
        if (!_skipLine)
        {
            Emit(record[contentStart..]);
            if (!partial && terminated)
            {
                Emit("\n"u8);
            }
        }
        _inLine = partial;
        // Like upstream's limitedNum, lines dropped by sinceTime still count toward the tail.
        if (!partial && --_linesLeft == 0)
        {
            Done = true;
        }
    }

    public async Task FlushAsync(CancellationToken ct)
    {
        if (_pending.WrittenCount == 0)
        {
            return;
        }
        await output.WriteAsync(_pending.WrittenMemory, ct).ConfigureAwait(false);
        await output.FlushAsync(ct).ConfigureAwait(false);
        _pending.ResetWrittenCount();
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        if (Done)
        {
            return;
        }
        if (bytes.Length >= _remaining)
        {
            bytes = bytes[..(int)_remaining];
            Done = true;
        }
        _remaining -= bytes.Length;
        _pending.Write(bytes);
    }
}
