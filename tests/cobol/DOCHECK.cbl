       IDENTIFICATION DIVISION.
       PROGRAM-ID. DOCHECK.
      * Reads a DOEXEC file written by the platform and shows the packed
      * (COMP-3) fields as a COBOL compiler decodes them; then writes a
      * LYCRED detail and trailer whose packed fields the platform decodes.
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT DOFILE ASSIGN TO WS-IN
               ORGANIZATION IS SEQUENTIAL.
           SELECT LYFILE ASSIGN TO WS-OUT
               ORGANIZATION IS SEQUENTIAL.
       DATA DIVISION.
       FILE SECTION.
       FD  DOFILE RECORD CONTAINS 150 CHARACTERS.
       01  DO-RAW                      PIC X(150).
       FD  LYFILE RECORD CONTAINS 120 CHARACTERS.
       01  LY-RAW                      PIC X(120).
       WORKING-STORAGE SECTION.
       01  WS-IN                       PIC X(200).
       01  WS-OUT                      PIC X(200).
       01  WS-EOF                      PIC X VALUE 'N'.
           COPY DOEXEC.
           COPY LYCRED.
       PROCEDURE DIVISION.
           ACCEPT WS-IN FROM ARGUMENT-VALUE
           ACCEPT WS-OUT FROM ARGUMENT-VALUE
           OPEN INPUT DOFILE
           PERFORM UNTIL WS-EOF = 'Y'
               READ DOFILE INTO DO-RECORD
                   AT END MOVE 'Y' TO WS-EOF
                   NOT AT END PERFORM SHOW-RECORD
               END-READ
           END-PERFORM
           CLOSE DOFILE
           OPEN OUTPUT LYFILE
           MOVE SPACES TO LY-RECORD
           MOVE 42 TO LYD-SEQUENCE-NO
           MOVE 4071234567 TO LYD-ACCOUNT-NO
           MOVE 1234.56 TO LYD-AMOUNT
           WRITE LY-RAW FROM LY-DETAIL-REC
           MOVE SPACES TO LY-RECORD
           MOVE 1 TO LYT-RECORD-COUNT
           MOVE 1234.56 TO LYT-TOTAL-CREDITS
           MOVE -99.01 TO LYT-TOTAL-DEBITS
           MOVE 4071234567 TO LYT-HASH-TOTAL
           WRITE LY-RAW FROM LY-TRAILER-REC
           CLOSE LYFILE
           STOP RUN.
       SHOW-RECORD.
           EVALUATE DO-RAW(1:1)
               WHEN X'C4'
                   DISPLAY 'D ' DOD-SEQUENCE-NO ' ' DOD-ACCOUNT-NO
                       ' ' DOD-AMOUNT ' ' DOD-ORIG-SEQUENCE-NO
               WHEN X'C8'
                   DISPLAY 'H ' DOH-RUN-NUMBER
               WHEN X'E3'
                   DISPLAY 'T ' DOT-RECORD-COUNT ' ' DOT-TOTAL-AMOUNT
                       ' ' DOT-HASH-TOTAL
           END-EVALUATE.
