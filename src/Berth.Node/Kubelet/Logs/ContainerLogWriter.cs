using System.Buffers;

namespace Berth.Node.Kubelet.Logs;

/// <summary>
/// Writes a container's stdout and stderr into one CRI-format log file, rotating it at a size cap.
/// The container runtime's half of logging (containerd internal/cri/io/logger.go) plus the kubelet's
/// rotation (pkg/kubelet/logs/container_log_manager.go), without compression.
/// </summary>
public sealed class ContainerLogWriter : IAsyncDisposable
{
    public const long DefaultMaxSize = 10 * 1024 * 1024;
    public const int DefaultMaxFiles = 5;

    private const int ReadBufferSize = 32 * 1024;

    private readonly string _path;
    private readonly long _maxSize;
    private readonly int _maxFiles;
    private readonly TimeProvider _time;
    // One writer at a time keeps stdout and stderr records whole and makes rotation atomic to the pumps.
    private readonly SemaphoreSlim _lock = new(1, 1);
    private FileStream? _file;
    private long _size;

    public ContainerLogWriter(string path, long maxSize = DefaultMaxSize, int maxFiles = DefaultMaxFiles, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFiles, 1);
        _path = path;
        _maxSize = maxSize;
        _maxFiles = maxFiles;
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _file = Open(FileMode.Append);
        _size = _file.Length;
    }

    /// <summary>
    /// Copies one output stream into the log until it ends. Call once for stdout and once for stderr.
    /// Lines are written as whole records; each batch read from the source is written and made visible at once.
    /// </summary>
    public async Task PumpAsync(Stream source, LogStream stream, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        var assembler = new LineAssembler(stream, _time);
        try
        {
            int n;
            while ((n = await source.ReadAsync(buffer.AsMemory(0, ReadBufferSize), ct).ConfigureAwait(false)) > 0)
            {
                assembler.Feed(buffer.AsSpan(0, n));
                await AppendAsync(assembler, ct).ConfigureAwait(false);
            }
            assembler.Finish();
            await AppendAsync(assembler, ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_file is not null)
            {
                await _file.DisposeAsync().ConfigureAwait(false);
                _file = null;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task AppendAsync(LineAssembler assembler, CancellationToken ct)
    {
        if (assembler.Records.WrittenCount == 0)
        {
            return;
        }
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // After disposal the output is still drained (so the process never blocks on a full pipe) but dropped.
            if (_file is not null)
            {
                // Unbuffered file: one write per batch, so a follower sees it at once and never half a record
                // from the middle of a batch. Not cancelled midway: a torn record would corrupt the file.
                await _file.WriteAsync(assembler.Records.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
                _size += assembler.Records.WrittenCount;
                if (_size >= _maxSize)
                {
                    Rotate();
                }
            }
        }
        finally
        {
            _lock.Release();
            assembler.Records.ResetWrittenCount();
        }
    }

    private void Rotate()
    {
        _file!.Dispose();
        File.Move(_path, RotatedLogs.NextName(_path, _time.GetUtcNow()));
        // The live file counts toward maxFiles (upstream's MaxFiles includes it).
        var rotated = RotatedLogs.List(_path);
        for (var i = 0; i < rotated.Count - (_maxFiles - 1); i++)
        {
            File.Delete(rotated[i]);
        }
        _file = Open(FileMode.Create);
        _size = 0;
    }

    private FileStream Open(FileMode mode) =>
        new(_path, mode, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    // Splits one stream's bytes into CRI records the way containerd's redirectLogs does: a line longer than
    // MaxLineLength goes out as MaxLineLength-byte P records, then the rest as F; bytes left without a newline
    // at EOF become a P record, so the reader reproduces the output byte for byte (no newline is invented).
    private sealed class LineAssembler(LogStream stream, TimeProvider time)
    {
        private readonly byte[] _line = new byte[CriLog.MaxLineLength];
        private int _length;

        public ArrayBufferWriter<byte> Records { get; } = new(ReadBufferSize + CriLog.MaxHeaderLength);

        public void Feed(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                var eol = data.IndexOf((byte)'\n');
                var segment = eol < 0 ? data : data[..eol];
                while (!segment.IsEmpty)
                {
                    if (_length == _line.Length)
                    {
                        Emit(partial: true);
                    }
                    var take = Math.Min(_line.Length - _length, segment.Length);
                    segment[..take].CopyTo(_line.AsSpan(_length));
                    _length += take;
                    segment = segment[take..];
                }
                if (eol < 0)
                {
                    return;
                }
                Emit(partial: false);
                data = data[(eol + 1)..];
            }
        }

        public void Finish()
        {
            if (_length > 0)
            {
                Emit(partial: true);
            }
        }

        private void Emit(bool partial)
        {
            CriLog.WriteRecord(Records, time.GetUtcNow(), stream, partial, _line.AsSpan(0, _length));
            _length = 0;
        }
    }
}
