//! Reads an uploaded file (CSV or XLSX) into a header row and rows of text cells, and nothing
//! more: what the cells mean is the mapping's business. A file that cannot be read as a table
//! at all (too many columns, not a spreadsheet, no header) is refused whole, with the reason;
//! odd cells (NUL bytes, huge values) are kept for their row to be refused with its field.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

use crate::error::{AppError, Result};

/// Most columns a file may have; real exports have a few dozen.
pub const MAX_COLUMNS: usize = 1_000;

/// The file as a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    /// Data rows, each as long as the header row (short rows padded, extra cells dropped).
    pub rows: Vec<Vec<String>>,
    /// How the bytes were decoded: `utf-8`, `utf-16` or `latin-1` (bytes that were not UTF-8).
    pub encoding: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// An XLSX file is a ZIP archive; anything else is read as CSV.
    pub fn sniff(bytes: &[u8]) -> Format {
        if bytes.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

/// Reads `bytes` as `format`; at most `max_rows` data rows. Rows whose cells are all blank
/// (trailing lines, spacer rows) are not rows of data and are left out.
pub fn read(bytes: &[u8], format: Format, max_rows: usize) -> Result<Table> {
    let (grid, encoding) = match format {
        Format::Csv => {
            let (text, encoding) = decode(bytes);
            (csv_grid(&text, max_rows)?, encoding)
        }
        Format::Xlsx => (xlsx_grid(bytes, max_rows)?, "utf-8"),
    };
    let mut grid = grid.into_iter();
    let headers: Vec<String> = grid
        .next()
        .ok_or_else(|| AppError::bad_input("file", "the file is empty: no header row"))?
        .into_iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(AppError::bad_input("file", "the header row is blank"));
    }
    let width = headers.len();
    let rows = grid
        .filter(|row| row.iter().any(|cell| !cell.trim().is_empty()))
        .map(|mut row| {
            row.resize(width, String::new());
            row
        })
        .collect();
    Ok(Table {
        headers,
        rows,
        encoding,
    })
}

/// The text of a CSV upload. UTF-8 (with or without a byte order mark) and UTF-16 with its
/// mark are read as such; other bytes are read as Latin-1, which never fails, so a file saved
/// by an old spreadsheet still imports and its accents show what went wrong, if anything.
fn decode(bytes: &[u8]) -> (String, &'static str) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return decode(rest);
    }
    let utf16 = |rest: &[u8], word: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|pair| word([pair[0], pair[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return (utf16(rest, u16::from_le_bytes), "utf-16");
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return (utf16(rest, u16::from_be_bytes), "utf-16");
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), "utf-8"),
        Err(_) => (bytes.iter().map(|&b| char::from(b)).collect(), "latin-1"),
    }
}

fn csv_grid(text: &str, max_rows: usize) -> Result<Vec<Vec<String>>> {
    let delimiter = sniff_delimiter(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            AppError::bad_input("file", format!("not readable as CSV at record {line}: {e}"))
        })?;
        check_width(record.len())?;
        check_height(grid.len(), max_rows)?;
        grid.push(record.iter().map(str::to_owned).collect());
    }
    Ok(grid)
}

/// Semicolons separate columns in CSV files saved where the comma is the decimal separator;
/// the header line tells which one the file uses.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

fn xlsx_grid(bytes: &[u8], max_rows: usize) -> Result<Vec<Vec<String>>> {
    let unreadable = |e: calamine::XlsxError| {
        AppError::bad_input("file", format!("not readable as an XLSX workbook: {e}"))
    };
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| AppError::bad_input("file", "the workbook has no worksheet"))?
        .map_err(unreadable)?;
    check_width(sheet.width())?;
    let mut grid = Vec::new();
    for row in sheet.rows() {
        check_height(grid.len(), max_rows)?;
        grid.push(row.iter().map(cell_text).collect());
    }
    Ok(grid)
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Error(_) | Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn check_width(columns: usize) -> Result<()> {
    if columns > MAX_COLUMNS {
        return Err(AppError::bad_input(
            "file",
            format!("{columns} columns; at most {MAX_COLUMNS}"),
        ));
    }
    Ok(())
}

/// `read` rows so far, the header included.
fn check_height(read: usize, max_rows: usize) -> Result<()> {
    if read > max_rows {
        return Err(AppError::bad_input(
            "file",
            format!("more than {max_rows} rows; split the file"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_and_quoted_newlines_read_as_one_table() {
        let file = "\u{FEFF}Email,Note\r\na@example.com,\"two\r\nlines\"\r\n\r\n,\r\n";
        let table = read(file.as_bytes(), Format::Csv, 10).unwrap();
        assert_eq!(table.headers, ["Email", "Note"]);
        assert_eq!(table.rows, [["a@example.com", "two\r\nlines"]]);
        assert_eq!(table.encoding, "utf-8");
    }

    #[test]
    fn latin_1_and_utf_16_files_are_decoded() {
        let table = read(b"Name\nSi\xE2n\n", Format::Csv, 10).unwrap();
        assert_eq!(table.rows, [["Siân"]]);
        assert_eq!(table.encoding, "latin-1");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("Name\nØdegård\n".encode_utf16().flat_map(u16::to_le_bytes));
        let table = read(&utf16, Format::Csv, 10).unwrap();
        assert_eq!(table.rows, [["Ødegård"]]);
    }

    #[test]
    fn short_rows_are_padded_and_semicolons_are_sniffed() {
        let table = read(b"a;b;c\n1;2\n", Format::Csv, 10).unwrap();
        assert_eq!(table.rows, [["1", "2", ""]]);
    }

    #[test]
    fn too_wide_too_long_or_empty_files_are_refused() {
        let wide = vec!["h"; MAX_COLUMNS + 1].join(",");
        assert!(read(wide.as_bytes(), Format::Csv, 10).is_err());
        assert!(read(b"h\n1\n2\n3\n", Format::Csv, 2).is_err());
        assert!(read(b"", Format::Csv, 2).is_err());
        assert!(read(b"PK\x03\x04garbage", Format::Xlsx, 2).is_err());
    }
}
