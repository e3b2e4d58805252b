using System.Globalization;
using System.Text.Json.Serialization;
using Berth.Api.Serialization;

namespace Berth.Api.Models;

/// <summary>
/// <c>intstr.IntOrString</c>: a JSON number (int32) or a JSON string, written back as it came.
/// <c>default</c> is the integer 0, as upstream's zero value.
/// </summary>
[JsonConverter(typeof(IntOrStringConverter))]
public readonly struct IntOrString : IEquatable<IntOrString>
{
    private readonly string? _stringValue;

    /// <summary>An integer value.</summary>
    public IntOrString(int value)
    {
        IntValue = value;
    }

    /// <summary>A string value (e.g. a named port).</summary>
    public IntOrString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _stringValue = value;
    }

    /// <summary>True when the value is a string (then <see cref="StringValue"/> holds it).</summary>
    public bool IsString => _stringValue is not null;

    /// <summary>True when the value is an integer (then <see cref="IntValue"/> holds it).</summary>
    public bool IsInt => _stringValue is null;

    /// <summary>The integer value; 0 when <see cref="IsString"/>.</summary>
    public int IntValue { get; }

    /// <summary>The string value; null when <see cref="IsInt"/>.</summary>
    public string? StringValue => _stringValue;

    public static implicit operator IntOrString(int value) => new(value);

    public static implicit operator IntOrString(string value) => new(value);

    public static bool operator ==(IntOrString left, IntOrString right) => left.Equals(right);

    public static bool operator !=(IntOrString left, IntOrString right) => !left.Equals(right);

    public static IntOrString FromInt32(int value) => new(value);

    public static IntOrString FromString(string value) => new(value);

    public bool Equals(IntOrString other) =>
        IsString ? string.Equals(_stringValue, other._stringValue, StringComparison.Ordinal) : other.IsInt && IntValue == other.IntValue;

    public override bool Equals(object? obj) => obj is IntOrString other && Equals(other);

    public override int GetHashCode() => IsString ? StringComparer.Ordinal.GetHashCode(_stringValue!) : IntValue;

    /// <summary>The integer in invariant culture, or the string.</summary>
    public override string ToString() => _stringValue ?? IntValue.ToString(CultureInfo.InvariantCulture);
}
