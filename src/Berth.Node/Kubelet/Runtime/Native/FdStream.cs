using System.Runtime.InteropServices;
using Berth.Node.Native;
using Microsoft.Win32.SafeHandles;

namespace Berth.Node.Kubelet.Runtime.Native;

// A stream over one non-blocking pipe end or pty master. Async reads and writes wait for readiness on the shared
// EventLoop instead of blocking a thread-pool thread per container stream (FileStream and the anonymous
// PipeStream on Unix both would).
internal sealed class FdStream : Stream
{
    private readonly SafeFileHandle _handle;
    private readonly bool _canRead;
    private readonly bool _ptyMaster;
    private readonly CancellationTokenSource _disposed = new();

    // ptyMaster: a read on a master whose slave side has no holders left fails with EIO; that is its end of file.
    public FdStream(int fd, bool canRead, bool ptyMaster)
    {
        _handle = new SafeFileHandle(fd, ownsHandle: true);
        _canRead = canRead;
        _ptyMaster = ptyMaster;
    }

    public SafeFileHandle Handle => _handle;

    public override bool CanRead => _canRead && !_handle.IsClosed;

    public override bool CanWrite => !_canRead && !_handle.IsClosed;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        EnsureReadable();
        while (true)
        {
            int read = TryRead(buffer);
            if (read >= 0)
            {
                return read;
            }

            WaitSync(LibC.PollIn);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureReadable();
        while (true)
        {
            // A zero-byte read waits for data without consuming any, so callers can rent a buffer only then.
            int read = buffer.Length == 0 ? (WouldBlockOnRead() ? -1 : 0) : TryRead(buffer.Span);
            if (read >= 0)
            {
                return read;
            }

            await WaitAsync(LibC.EpollIn, cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        EnsureWritable();
        while (!buffer.IsEmpty)
        {
            int written = TryWrite(buffer);
            if (written < 0)
            {
                WaitSync(LibC.PollOut);
                continue;
            }

            buffer = buffer[written..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureWritable();
        while (!buffer.IsEmpty)
        {
            int written = TryWrite(buffer.Span);
            if (written < 0)
            {
                await WaitAsync(LibC.EpollOut, cancellationToken).ConfigureAwait(false);
                continue;
            }

            buffer = buffer[written..];
        }
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_handle.IsClosed)
        {
            // Cancelling first takes the fd out of the epoll set before its number can be reused.
            _disposed.Cancel();
            _handle.Dispose();
            _disposed.Dispose();
        }

        base.Dispose(disposing);
    }

    private void EnsureReadable()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (!_canRead)
        {
            throw new NotSupportedException("stream does not support reading");
        }
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_canRead)
        {
            throw new NotSupportedException("stream does not support writing");
        }
    }

    // Returns bytes read (0 at end of file), or -1 when the fd has nothing yet.
    private unsafe int TryRead(Span<byte> buffer)
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int fd = (int)_handle.DangerousGetHandle();
            while (true)
            {
                nint read;
                fixed (byte* p = buffer)
                {
                    read = LibC.Read(fd, p, buffer.Length);
                }

                if (read >= 0)
                {
                    return (int)read;
                }

                int errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case LibC.EINTR:
                        continue;
                    case LibC.EAGAIN:
                        return -1;
                    case LibC.EIO when _ptyMaster:
                        return 0;
                    default:
                        throw new IOException($"read: {LibC.ErrorText(errno)}", errno);
                }
            }
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private unsafe bool WouldBlockOnRead()
    {
        var pollFd = new LibC.PollFd { Fd = (int)_handle.DangerousGetHandle(), Events = LibC.PollIn };
        return LibC.Poll(&pollFd, 1, 0) == 0;
    }

    // Returns bytes written, or -1 when the fd cannot take any yet.
    private unsafe int TryWrite(ReadOnlySpan<byte> buffer)
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int fd = (int)_handle.DangerousGetHandle();
            while (true)
            {
                nint written;
                fixed (byte* p = buffer)
                {
                    written = LibC.Write(fd, p, buffer.Length);
                }

                if (written >= 0)
                {
                    return (int)written;
                }

                int errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case LibC.EINTR:
                        continue;
                    case LibC.EAGAIN:
                        return -1;
                    default:
                        throw new IOException($"write: {LibC.ErrorText(errno)}", errno);
                }
            }
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private unsafe void WaitSync(short events)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        var pollFd = new LibC.PollFd { Fd = (int)_handle.DangerousGetHandle(), Events = events };
        LibC.Poll(&pollFd, 1, -1);
    }

    private async Task WaitAsync(uint events, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        try
        {
            await EventLoop.Shared.WaitAsync((int)_handle.DangerousGetHandle(), events, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(FdStream));
        }
    }
}
