import Foundation

/// Formats dates as the IMF-fixdate of RFC 9110 §5.6.7, for example
/// `Mon, 23 Nov 2026 15:56:55 GMT`.
///
/// The date is computed with integer arithmetic (Howard Hinnant's
/// `civil_from_days`) in the proleptic Gregorian calendar, because a
/// `DateFormatter` is slow and this runs on every response that sets a cookie.
/// It only formats: the cookie layer never reads dates from requests.
enum HTTPDate {
    /// The start of the Unix epoch, the `Expires` value that clears a cookie.
    static let unixEpoch = "Thu, 01 Jan 1970 00:00:00 GMT"

    /// The earliest moment the format can show, `Mon, 01 Jan 0001 00:00:00 GMT`.
    static let earliestSecond = -62_135_596_800
    /// The latest moment the format can show, `Fri, 31 Dec 9999 23:59:59 GMT`.
    static let latestSecond = 253_402_300_799

    private static let dayNames: [[UInt8]] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].map { Array($0.utf8) }
    private static let monthNames: [[UInt8]] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .map { Array($0.utf8) }

    /// Formats `date` as an IMF-fixdate, dropping fractions of a second.
    ///
    /// The year has four digits, so dates before year 1 or after year 9999 are
    /// clamped to ``earliestSecond`` and ``latestSecond``; a date that is not a
    /// number shows as the earliest.
    ///
    /// - Parameter date: The moment to format.
    /// - Returns: 29 ASCII characters, for example `Thu, 01 Jan 1970 00:00:00 GMT`.
    static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let seconds: Int
        // Written as negated comparisons so that NaN lands on the earliest second.
        if !(interval >= Double(earliestSecond)) {
            seconds = earliestSecond
        } else if !(interval <= Double(latestSecond)) {
            seconds = latestSecond
        } else {
            seconds = Int(interval.rounded(.down))
        }
        return format(secondsSince1970: seconds)
    }

    /// Formats a whole number of seconds since 1970-01-01T00:00:00Z as an IMF-fixdate.
    ///
    /// - Parameter seconds: Seconds since the epoch, clamped to ``earliestSecond``...``latestSecond``.
    /// - Returns: 29 ASCII characters.
    static func format(secondsSince1970 seconds: Int) -> String {
        let seconds = min(max(seconds, earliestSecond), latestSecond)
        let days = floorDivide(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDaysSince1970: days)
        // 1970-01-01 was a Thursday; index 0 is Sunday.
        let weekday = floorModulo(days + 4, 7)

        var text = [UInt8]()
        text.reserveCapacity(29)
        text.append(contentsOf: dayNames[weekday])
        text.append(contentsOf: ", ".utf8)
        appendDigits(day, count: 2, to: &text)
        text.append(UInt8(ascii: " "))
        text.append(contentsOf: monthNames[month - 1])
        text.append(UInt8(ascii: " "))
        appendDigits(year, count: 4, to: &text)
        text.append(UInt8(ascii: " "))
        appendDigits(secondOfDay / 3600, count: 2, to: &text)
        text.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2, to: &text)
        text.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, to: &text)
        text.append(contentsOf: " GMT".utf8)
        return String(decoding: text, as: UTF8.self)
    }

    /// Converts days since 1970-01-01 to a proleptic Gregorian year, month (1-12) and day (1-31).
    ///
    /// This is `civil_from_days` from Howard Hinnant's "chrono-Compatible Low-Level
    /// Date Algorithms": it shifts the year to start on 1 March, so the leap day is
    /// the last day of its year, and counts in 400-year eras of 146,097 days.
    ///
    /// - Parameter days: Days since the epoch; negative for earlier dates.
    static func civil(fromDaysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468  // Days since 0000-03-01.
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097  // 0...146_096
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365  // 0...399
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // 0...365, from 1 March
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0...11, March is 0
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func appendDigits(_ value: Int, count: Int, to text: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        while divisor > 0 {
            text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    private static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
        let quotient = value / divisor
        return (value % divisor < 0) ? quotient - 1 : quotient
    }

    private static func floorModulo(_ value: Int, _ divisor: Int) -> Int {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
