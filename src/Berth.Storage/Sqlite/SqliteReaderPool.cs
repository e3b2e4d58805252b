using System.Collections.Concurrent;

namespace Berth.Storage.Sqlite;

/// <summary>A small pool of read connections; WAL lets them read while the writer commits.</summary>
internal sealed class SqliteReaderPool : IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentBag<SqliteReader> _idle = [];
    private volatile bool _disposed;

    public SqliteReaderPool(string connectionString, int size)
    {
        _connectionString = connectionString;
        _slots = new SemaphoreSlim(Math.Max(1, size));
    }

    public async ValueTask<SqliteReader> RentAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _idle.TryTake(out SqliteReader? reader) ? reader : new SqliteReader(_connectionString);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    public void Return(SqliteReader reader)
    {
        if (_disposed)
        {
            reader.Dispose();
        }
        else
        {
            _idle.Add(reader);
            // A reader returned while Dispose ran may have missed its sweep.
            if (_disposed && _idle.TryTake(out SqliteReader? late))
            {
                late.Dispose();
            }
        }

        _slots.Release();
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out SqliteReader? reader))
        {
            reader.Dispose();
        }
    }
}
