public import SessionKit

extension SessionStoreConformance {
    /// Random session values and handler calls for property tests, with the
    /// simpler candidates a shrinker tries when a case fails.
    ///
    /// It imports no property-testing framework: every generator takes any
    /// `RandomNumberGenerator`, and every `simpler…` function returns strictly
    /// simpler inputs (fewer nodes, shorter strings, smaller numbers, `null` the
    /// simplest of all), so a shrinker that keeps taking the first failing
    /// candidate always ends. Wrap them in the generator type of the framework
    /// you use; with x-sheep/swift-property-based:
    ///
    /// ```swift
    /// let values = Generator(
    ///     run: { rng in SessionStoreConformance.RandomInput.value(using: &rng) },
    ///     shrink: { SessionStoreConformance.RandomInput.simplerValues(than: $0) }
    /// )
    /// ```
    ///
    /// Values cover every kind ``SessionKit/SessionValue`` has: strings of any
    /// Unicode scalars (NUL, other controls, combining marks, bidirectional
    /// marks, noncharacters such as U+FFFE, private use, U+10FFFF, emoji),
    /// integers including `Int64.min` and `Int64.max`, doubles including -0.0,
    /// subnormals, the largest finite doubles, integral doubles and random bit
    /// patterns, booleans, null, arrays and objects with arbitrary keys.
    /// Non-finite doubles (NaN, ±infinity) are produced only when asked for;
    /// they cannot be written as JSON and are stored as `null` (see
    /// ``normalized(_:)``).
    public enum RandomInput {
        /// The keys random calls use: few, so that the calls of two requests often meet on one key.
        public static let callKeys = ["a", "b", "c", "d"]

        // MARK: Values

        /// A random value, nested at most `maximumDepth` levels.
        ///
        /// - Parameters:
        ///   - maximumDepth: How many levels of arrays and objects may nest; 0 gives scalars only.
        ///   - maximumLength: The most elements of an array or members of an object, and the most scalars of a string.
        ///   - allowsNonFinite: Whether a double may be NaN or infinite.
        ///   - generator: The source of randomness.
        /// - Returns: The value.
        public static func value(
            maximumDepth: Int = 4,
            maximumLength: Int = 6,
            allowsNonFinite: Bool = false,
            using generator: inout some RandomNumberGenerator
        ) -> SessionValue {
            let roll = Int.random(in: 0..<(maximumDepth > 0 ? 16 : 12), using: &generator)
            switch roll {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &generator))
            case 2...4: return .int(integer(using: &generator))
            case 5...7: return .double(double(allowsNonFinite: allowsNonFinite, using: &generator))
            case 8...11: return .string(string(maximumLength: maximumLength * 2, using: &generator))
            case 12, 13:
                let count = Int.random(in: 0...maximumLength, using: &generator)
                return .array(
                    (0..<count).map { _ in
                        value(
                            maximumDepth: maximumDepth - 1,
                            maximumLength: maximumLength,
                            allowsNonFinite: allowsNonFinite,
                            using: &generator
                        )
                    }
                )
            default:
                let count = Int.random(in: 0...maximumLength, using: &generator)
                var members: [String: SessionValue] = [:]
                for _ in 0..<count {
                    members[key(using: &generator)] = value(
                        maximumDepth: maximumDepth - 1,
                        maximumLength: maximumLength,
                        allowsNonFinite: allowsNonFinite,
                        using: &generator
                    )
                }
                return .object(members)
            }
        }

        /// Random values under random keys, as a handler would `put` them.
        ///
        /// - Parameters:
        ///   - count: How many keys to draw (repeated keys make fewer).
        ///   - maximumDepth: How deep each value may nest.
        ///   - maximumLength: The most elements, members or scalars of each part of a value.
        ///   - allowsNonFinite: Whether a double may be NaN or infinite.
        ///   - generator: The source of randomness.
        /// - Returns: The keys and values.
        public static func values(
            count: ClosedRange<Int> = 1...5,
            maximumDepth: Int = 4,
            maximumLength: Int = 6,
            allowsNonFinite: Bool = false,
            using generator: inout some RandomNumberGenerator
        ) -> [String: SessionValue] {
            var values: [String: SessionValue] = [:]
            for _ in 0..<Int.random(in: count, using: &generator) {
                values[key(using: &generator)] = value(
                    maximumDepth: maximumDepth,
                    maximumLength: maximumLength,
                    allowsNonFinite: allowsNonFinite,
                    using: &generator
                )
            }
            return values
        }

        /// A random 64-bit integer: often small, often an edge (`min`, `max`, ±2⁵³), otherwise anything.
        ///
        /// - Parameter generator: The source of randomness.
        public static func integer(using generator: inout some RandomNumberGenerator) -> Int64 {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: return Int64.random(in: -3...3, using: &generator)
            case 1: return edgeIntegers.randomElement(using: &generator)!
            default: return Int64.random(in: .min ... .max, using: &generator)
            }
        }

        static let edgeIntegers: [Int64] = [
            .min, .max, .min + 1, .max - 1, 0, -1, 1, 1 << 53, (1 << 53) + 1, -(1 << 53) - 1, Int64(Int32.max) + 1,
        ]

        /// A random double: an edge (±0, subnormals, the largest finite, 1e308, 0.1), an integral
        /// double, or a random bit pattern; NaN and ±infinity only when `allowsNonFinite`.
        ///
        /// - Parameters:
        ///   - allowsNonFinite: Whether NaN and ±infinity may come out.
        ///   - generator: The source of randomness.
        public static func double(allowsNonFinite: Bool = false, using generator: inout some RandomNumberGenerator) -> Double {
            let number: Double
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: number = edgeDoubles.randomElement(using: &generator)!
            case 1: number = Double(Int.random(in: -1_000...1_000, using: &generator))
            case 2: number = Double.random(in: -1_000...1_000, using: &generator)
            case 3 where allowsNonFinite: number = [.nan, .infinity, -.infinity, -.nan].randomElement(using: &generator)!
            default: number = Double(bitPattern: UInt64.random(in: .min ... .max, using: &generator))
            }
            if !allowsNonFinite, !number.isFinite { return 0.5 }
            return number
        }

        static let edgeDoubles: [Double] = [
            0.0, -0.0, 0.1, 1.0, -2.5, 1e308, -1e308, 1e-308, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, Double.leastNormalMagnitude.nextDown,
            9_007_199_254_740_994, 1e21, 1e-7, 123_456_789.125, .pi, .ulpOfOne,
        ]

        /// A random string of at most `maximumLength` Unicode scalars drawn from ASCII, controls
        /// (NUL included), Latin-1, combining marks, right-to-left scripts, general punctuation
        /// (U+2028, U+2029, zero-width joiner, bidirectional overrides), CJK, the last scalars
        /// before the surrogates, private use, the specials block (U+FEFF, U+FFFD, U+FFFE,
        /// U+FFFF), variation selectors, emoji and the astral planes up to U+10FFFF.
        ///
        /// - Parameters:
        ///   - maximumLength: The most scalars.
        ///   - generator: The source of randomness.
        public static func string(maximumLength: Int = 12, using generator: inout some RandomNumberGenerator) -> String {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...maximumLength, using: &generator) {
                let range = scalarRanges.randomElement(using: &generator)!
                // Every range lies outside the surrogates, so every number is a scalar.
                scalars.append(Unicode.Scalar(UInt32.random(in: range, using: &generator))!)
            }
            return String(scalars)
        }

        static let scalarRanges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x20...0x7E, 0x22...0x22, 0x5C...0x5C, 0x00...0x1F, 0x7F...0xFF, 0x300...0x36F, 0x590...0x6FF,
            0x2000...0x206F, 0x4E00...0x9FFF, 0xD7F0...0xD7FF, 0xE000...0xF8FF, 0xFE00...0xFE0F, 0xFEFF...0xFEFF,
            0xFFF0...0xFFFF, 0x1F300...0x1FAFF, 0x10000...0x10FFFF, 0x10FFFF...0x10FFFF,
        ]

        /// A random key: usually a short ASCII word, otherwise any string ``string(maximumLength:using:)`` makes, the empty one included.
        ///
        /// - Parameter generator: The source of randomness.
        public static func key(using generator: inout some RandomNumberGenerator) -> String {
            guard Bool.random(using: &generator) else { return string(maximumLength: 6, using: &generator) }
            return callKeys.randomElement(using: &generator)! + String(Int.random(in: 0..<10, using: &generator))
        }

        /// What a store gives back for `value`: the value itself, except that non-finite
        /// doubles, which JSON cannot represent, come back as `null` (as `JSON.stringify` writes them).
        ///
        /// - Parameter value: A value as a handler stored it.
        public static func normalized(_ value: SessionValue) -> SessionValue {
            switch value {
            case .double(let number) where !number.isFinite: return .null
            case .array(let elements): return .array(elements.map(normalized))
            case .object(let members): return .object(members.mapValues(normalized))
            default: return value
            }
        }

        // MARK: Shrinking

        /// Strictly simpler values than `value`, simplest first: `null`, then (for
        /// arrays and objects) each part alone, the container without one part,
        /// and with one part simplified; shorter strings; numbers nearer zero.
        ///
        /// - Parameter value: A value of a failing case.
        public static func simplerValues(than value: SessionValue) -> [SessionValue] {
            switch value {
            case .null:
                return []
            case .bool:
                return [.null]
            case .int(let number):
                guard number != 0 else { return [.null] }
                return [.null, .int(0)] + (number / 2 != 0 ? [.int(number / 2)] : [])
            case .double(let number):
                return number.bitPattern == 0 ? [.null] : [.null, .double(0)]
            case .string(let text):
                return [.null] + simplerStrings(than: text).map(SessionValue.string)
            case .array(let elements):
                var candidates: [SessionValue] = [.null]
                candidates += elements
                for index in elements.indices {
                    var fewer = elements
                    fewer.remove(at: index)
                    candidates.append(.array(fewer))
                }
                for index in elements.indices {
                    for simpler in simplerValues(than: elements[index]) {
                        var changed = elements
                        changed[index] = simpler
                        candidates.append(.array(changed))
                    }
                }
                return candidates
            case .object(let members):
                let keys = members.keys.sorted()
                var candidates: [SessionValue] = [.null]
                candidates += keys.map { members[$0]! }
                for key in keys {
                    var fewer = members
                    fewer[key] = nil
                    candidates.append(.object(fewer))
                }
                for key in keys {
                    for simpler in simplerValues(than: members[key]!) {
                        var changed = members
                        changed[key] = simpler
                        candidates.append(.object(changed))
                    }
                }
                return candidates
            }
        }

        /// Strictly shorter strings than `text`: empty, its first half, and without one scalar.
        ///
        /// - Parameter text: A string of a failing case.
        public static func simplerStrings(than text: String) -> [String] {
            let scalars = Array(text.unicodeScalars)
            guard !scalars.isEmpty else { return [] }
            var candidates = [""]
            if scalars.count > 1 { candidates.append(string(of: scalars.prefix(scalars.count / 2))) }
            for index in scalars.indices {
                var fewer = scalars
                fewer.remove(at: index)
                if !fewer.isEmpty { candidates.append(string(of: fewer[...])) }
            }
            return candidates
        }

        static func string(of scalars: ArraySlice<Unicode.Scalar>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            return String(view)
        }

        /// Strictly simpler key–value maps: without one key, or with one value simplified.
        ///
        /// - Parameter values: The keys and values of a failing case.
        public static func simplerValues(than values: [String: SessionValue]) -> [[String: SessionValue]] {
            let keys = values.keys.sorted()
            var candidates: [[String: SessionValue]] = []
            for key in keys {
                var fewer = values
                fewer[key] = nil
                candidates.append(fewer)
            }
            for key in keys {
                for simpler in simplerValues(than: values[key]!) {
                    var changed = values
                    changed[key] = simpler
                    candidates.append(changed)
                }
            }
            return candidates
        }

        // MARK: Calls

        /// A random call on a ``SessionKit/RequestSession`` (no `regenerate` or
        /// `invalidate`: they move the session to another token), on one of ``callKeys``.
        ///
        /// - Parameter generator: The source of randomness.
        public static func call(using generator: inout some RandomNumberGenerator) -> SessionCall {
            let key = callKeys.randomElement(using: &generator)!
            switch Int.random(in: 0..<20, using: &generator) {
            case 0...2: return .put(key, value(maximumDepth: 2, maximumLength: 3, using: &generator))
            case 3:
                var values: [String: SessionValue] = [:]
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    values[callKeys.randomElement(using: &generator)!] = value(maximumDepth: 1, maximumLength: 3, using: &generator)
                }
                return .putMany(values)
            case 4, 5: return .increment(key, by: amount(using: &generator))
            case 6: return .decrement(key, by: amount(using: &generator))
            case 7, 8: return .push(key, value(maximumDepth: 1, maximumLength: 3, using: &generator))
            case 9: return .forget(key)
            case 10: return .forgetMany(someKeys(using: &generator))
            case 11: return .pull(key)
            case 12: return .flush
            case 13, 14: return .flash(key, value(maximumDepth: 1, maximumLength: 3, using: &generator))
            case 15, 16: return .now(key, value(maximumDepth: 1, maximumLength: 3, using: &generator))
            case 17: return .reflash
            default: return .keep(someKeys(using: &generator))
            }
        }

        /// Random calls, as one request's handler makes them.
        ///
        /// - Parameters:
        ///   - count: How many calls.
        ///   - generator: The source of randomness.
        public static func calls(count: ClosedRange<Int> = 0...5, using generator: inout some RandomNumberGenerator) -> [SessionCall] {
            (0..<Int.random(in: count, using: &generator)).map { _ in call(using: &generator) }
        }

        static func amount(using generator: inout some RandomNumberGenerator) -> Int64 {
            Int.random(in: 0..<6, using: &generator) == 0 ? integer(using: &generator) : Int64.random(in: -3...3, using: &generator)
        }

        static func someKeys(using generator: inout some RandomNumberGenerator) -> [String] {
            (0..<Int.random(in: 1...3, using: &generator)).map { _ in callKeys.randomElement(using: &generator)! }
        }

        /// Strictly simpler calls of the same kind: simpler values, amounts nearer zero, fewer keys.
        ///
        /// - Parameter call: A call of a failing case.
        public static func simplerCalls(than call: SessionCall) -> [SessionCall] {
            switch call {
            case .put(let key, let value): return simplerValues(than: value).map { .put(key, $0) }
            case .putMany(let values): return simplerValues(than: values).filter { !$0.isEmpty }.map { .putMany($0) }
            case .increment(let key, let amount): return simplerAmounts(than: amount).map { .increment(key, by: $0) }
            case .decrement(let key, let amount): return simplerAmounts(than: amount).map { .decrement(key, by: $0) }
            case .push(let key, let value): return simplerValues(than: value).map { .push(key, $0) }
            case .forget, .pull, .flush, .reflash: return []
            case .forgetMany(let keys): return simplerKeyLists(than: keys).map { .forgetMany($0) }
            case .flash(let key, let value): return simplerValues(than: value).map { .flash(key, $0) }
            case .now(let key, let value): return simplerValues(than: value).map { .now(key, $0) }
            case .keep(let keys): return simplerKeyLists(than: keys).map { .keep($0) }
            }
        }

        static func simplerAmounts(than amount: Int64) -> [Int64] {
            guard amount != 0 else { return [] }
            return amount / 2 == 0 ? [0] : [0, amount / 2]
        }

        static func simplerKeyLists(than keys: [String]) -> [[String]] {
            guard keys.count > 1 else { return [] }
            return keys.indices.map { index in
                var fewer = keys
                fewer.remove(at: index)
                return fewer
            }
        }

        /// Strictly simpler call lists: without one call, or with one call simplified.
        ///
        /// - Parameter calls: The calls of a failing case.
        public static func simplerCallLists(than calls: [SessionCall]) -> [[SessionCall]] {
            var candidates: [[SessionCall]] = []
            for index in calls.indices {
                var fewer = calls
                fewer.remove(at: index)
                candidates.append(fewer)
            }
            for index in calls.indices {
                for simpler in simplerCalls(than: calls[index]) {
                    var changed = calls
                    changed[index] = simpler
                    candidates.append(changed)
                }
            }
            return candidates
        }
    }
}
