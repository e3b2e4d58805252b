using Microsoft.Data.Sqlite;

namespace Berth.Storage.Sqlite;

/// <summary>One read-only connection with its prepared statements. Not thread-safe: rented from
/// <see cref="SqliteReaderPool"/> for one operation at a time.</summary>
internal sealed class SqliteReader : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _get;
    private readonly SqliteCommand _list;
    private readonly SqliteCommand _meta;
    private readonly SqliteCommand _log;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _end;

    public SqliteReader(string connectionString)
    {
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        _get = Prepare("SELECT value, create_rev, mod_rev FROM kv WHERE key = $key", "$key");
        // Open-ended from the prefix; the caller stops at the first key outside it (keys with a common prefix
        // are contiguous in byte order), so no range end has to be computed.
        _list = Prepare("SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= $prefix ORDER BY key", "$prefix");
        _meta = Prepare(SqliteSchema.SelectMeta);
        _log = Prepare(
            """
            SELECT rev, key, kind, create_rev, value, prev_value FROM log
            WHERE rev > $after AND rev <= $upto AND ($prefix = '' OR instr(key, $prefix) = 1)
            ORDER BY rev LIMIT $limit
            """,
            "$after", "$upto", "$prefix", "$limit");
        _begin = Prepare("BEGIN DEFERRED");
        _end = Prepare("COMMIT");
    }

    public StoreItem? Get(string key)
    {
        _get.Parameters[0].Value = key;
        using SqliteDataReader reader = _get.ExecuteReader();
        return reader.Read()
            ? new StoreItem(key, reader.GetFieldValue<byte[]>(0), reader.GetInt64(1), reader.GetInt64(2))
            : null;
    }

    public StoreList List(string prefix)
    {
        // One read transaction so the items and the revision come from the same WAL snapshot.
        _begin.ExecuteNonQuery();
        try
        {
            (long revision, _) = ReadMeta();
            List<StoreItem> items = [];
            _list.Parameters[0].Value = prefix;
            using (SqliteDataReader reader = _list.ExecuteReader())
            {
                while (reader.Read())
                {
                    string key = reader.GetString(0);
                    if (!KeyRange.Matches(key, prefix))
                    {
                        break;
                    }

                    items.Add(new StoreItem(key, reader.GetFieldValue<byte[]>(1), reader.GetInt64(2), reader.GetInt64(3)));
                }
            }

            return new StoreList(items, revision);
        }
        finally
        {
            _end.ExecuteNonQuery();
        }
    }

    /// <summary>Reads up to <paramref name="limit"/> history events after <paramref name="after"/> under
    /// <paramref name="prefix"/>, from one snapshot.</summary>
    /// <exception cref="CompactedException">History after <paramref name="after"/> is incomplete.</exception>
    public LogPage ReadLog(string prefix, long after, int limit)
    {
        _begin.ExecuteNonQuery();
        try
        {
            (long current, long compacted) = ReadMeta();
            if (after < compacted)
            {
                throw new CompactedException(after, compacted);
            }

            List<WatchEvent> events = [];
            _log.Parameters[0].Value = after;
            _log.Parameters[1].Value = current;
            _log.Parameters[2].Value = prefix;
            _log.Parameters[3].Value = limit;
            using (SqliteDataReader reader = _log.ExecuteReader())
            {
                while (reader.Read())
                {
                    long rev = reader.GetInt64(0);
                    string key = reader.GetString(1);
                    long createRev = reader.GetInt64(3);
                    byte[] prev = reader.IsDBNull(5) ? [] : reader.GetFieldValue<byte[]>(5);
                    events.Add(reader.GetInt32(2) == SqliteSchema.KindDelete
                        ? new WatchEvent(WatchEventType.Delete, key, prev, prev, createRev, rev)
                        : new WatchEvent(WatchEventType.Put, key, reader.GetFieldValue<byte[]>(4), prev, createRev, rev));
                }
            }

            bool complete = events.Count < limit;
            return new LogPage(events, complete ? current : events[^1].ModRevision, complete);
        }
        finally
        {
            _end.ExecuteNonQuery();
        }
    }

    private (long Current, long Compacted) ReadMeta()
    {
        using SqliteDataReader reader = _meta.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(1), reader.GetInt64(2));
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (string name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    public void Dispose()
    {
        _get.Dispose();
        _list.Dispose();
        _meta.Dispose();
        _log.Dispose();
        _begin.Dispose();
        _end.Dispose();
        _connection.Dispose();
    }
}

/// <summary>A page of history.</summary>
/// <param name="Events">Matching events in revision order.</param>
/// <param name="ScannedUpTo">Every revision up to this one has been examined.</param>
/// <param name="Complete">Whether the page reached the end of history in its snapshot.</param>
internal readonly record struct LogPage(List<WatchEvent> Events, long ScannedUpTo, bool Complete);
