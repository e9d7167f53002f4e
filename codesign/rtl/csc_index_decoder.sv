// Decodes the relative index of one CSC word {weight, rel}: the local row it addresses is rel for the
// first word of a column, else previous row + 1 + rel (rel counts the rows skipped since the previous
// stored entry; a padding entry, weight 0 and rel all ones, occupies a row slot like any other entry).
`default_nettype none

module csc_index_decoder #(
  parameter int unsigned IndexWidth = 4,
  parameter int unsigned RowWidth   = 8
) (
  input  logic [IndexWidth-1:0] rel_i,
  input  logic                  first_i,
  input  logic [RowWidth-1:0]   prev_row_i,
  output logic [RowWidth-1:0]   row_o
);
  assign row_o = first_i ? RowWidth'(rel_i) : prev_row_i + RowWidth'(rel_i) + RowWidth'(1);
endmodule

`default_nettype wire
